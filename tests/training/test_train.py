"""The training-loop pieces behind the default recipe: weight averaging (EMA), adversarial embeddings,
distillation loss, and --members ensembles (checked on the real tiny model the CLI trains)."""

import json
import zipfile
from pathlib import Path

import torch
from torch import nn

from service.core.artifact import load_artifact
from service.core.features import Encoder, FeatureConfig, collate
from training.config import TrainConfig
from training.model import Ensemble, SentimentRNN, compact_embeddings
from training.objectives import EMA, DistillLoss, adversarial_step

ITOS = ["<pad>", "<unk>", "good", "bad", "day"]


def batch():
    enc = Encoder(ITOS, FeatureConfig(max_len=8, subword_buckets=50))
    return collate([enc.encode("good day"), enc.encode("bad bad day"), enc.encode("x")])


def test_ema_is_the_warmed_up_moving_average():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model)  # step 1: decay min(0.999, 2/11)
    d1 = 2 / 11
    assert abs(float(ema.model.weight) - (1 - d1)) < 1e-6
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update(model)  # step 2: decay 3/12
    d2 = 3 / 12
    assert abs(float(ema.model.weight) - (d2 * (1 - d1) + (1 - d2) * 3.0)) < 1e-6
    assert not ema.model.weight.requires_grad


def test_distill_loss_interpolates_hard_and_teacher_targets():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.5]])
    y = torch.tensor([0, 2])
    teacher = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    weights = torch.tensor([2.0, 1.0, 0.5])
    hard = nn.CrossEntropyLoss(weight=weights)
    torch.testing.assert_close(DistillLoss(hard, teacher, weights, 0.0)(logits, y), hard(logits, y))
    soft = -(teacher * torch.log_softmax(logits, dim=1)).sum(dim=1)
    expected = (weights[y] * soft).sum() / weights[y].sum()
    torch.testing.assert_close(DistillLoss(hard, teacher, weights, 1.0)(logits, y), expected)


def test_adversarial_step_adds_the_perturbed_loss_gradient():
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50, members=1)
    torch.manual_seed(0)
    model = SentimentRNN(len(ITOS), cfg).eval()  # eval: no dropout, so the passes are comparable
    word, sub, lengths = batch()
    y = torch.tensor([2, 0, 1])
    loss_fn = nn.CrossEntropyLoss()

    def grads(eps: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        model.zero_grad()
        if eps is None:
            loss = loss_fn(model.logits(word, sub, lengths), y)
            loss.backward()
        else:
            loss = adversarial_step(model, loss_fn, word, sub, lengths, y, eps)
        return loss.detach(), model.out.weight.grad.clone()

    clean_loss, clean = grads(None)
    zero_loss, zero = grads(0.0)  # no perturbation: the same loss twice, so twice the gradient
    torch.testing.assert_close(zero_loss, clean_loss)
    torch.testing.assert_close(zero, 2 * clean)
    adv_loss, adv = grads(1.0)
    torch.testing.assert_close(adv_loss, clean_loss)  # the clean loss is what is reported
    assert not torch.allclose(adv, 2 * clean)


def test_ensemble_mean_then_one_temperature():
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50, members=1)
    a, b = SentimentRNN(len(ITOS), cfg).eval(), SentimentRNN(len(ITOS), cfg).eval()
    ens = Ensemble([a, b]).eval()
    ens.temperature.fill_(2.0)
    word, sub, lengths = batch()
    mean = (a(word, sub, lengths) + b(word, sub, lengths)) / 2
    expected = torch.softmax(torch.log(mean) / 2.0, dim=1)
    torch.testing.assert_close(torch.jit.script(ens)(word, sub, lengths), expected)


def test_cli_trains_members_with_consecutive_seeds_into_one_module(tiny_model: Path):
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    n = TrainConfig().members  # the tiny model keeps the default recipe's ensemble size
    assert n > 1 and manifest["config"]["members"] == n
    assert [m["seed"] for m in manifest["metrics"]["members"]] == [13 + k for k in range(n)]
    assert {h["member"] for h in manifest["metrics"]["history"]} == set(range(n))
    art = load_artifact(tiny_model, "cpu")
    word, sub, lengths = collate([art.encoder.encode(t) for t in ["good day", "awful, just awful"]])
    members = list(art.module.members.children())
    assert len(members) == n
    with torch.no_grad():
        for m in members:
            assert float(m.temperature) == 1.0  # members stay uncalibrated: one temperature, on their mean
            assert not m.class_bias.any()  # and unbiased
            assert m.embedding.weight.dtype == torch.float16  # compact tables (fp16_embeddings default)
        mean = torch.stack([m(word, sub, lengths) for m in members]).mean(dim=0)
        # one class bias (the decision rule) and one temperature, on the mean
        expected = torch.softmax((torch.log(mean) + art.module.class_bias) / art.module.temperature, dim=1)
        torch.testing.assert_close(art.module(word, sub, lengths), expected)
        assert art.module(word, sub, lengths).dtype == torch.float32
    assert abs(float(art.module.temperature) - manifest["temperature"]) < 1e-6


def test_compact_embeddings_halve_the_tables_and_barely_move_the_output():
    cfg = TrainConfig(embed_dim=8, subword_dim=4, hidden_dim=6, subword_buckets=50, members=1)
    model = SentimentRNN(len(ITOS), cfg).eval()
    word, sub, lengths = batch()
    before = model(word, sub, lengths)
    compact_embeddings(model)
    assert model.embedding.weight.dtype == torch.float16 and model.sub_embedding.weight.dtype == torch.float16
    assert model.out.weight.dtype == torch.float32
    after = torch.jit.script(model)(word, sub, lengths)
    assert after.dtype == torch.float32
    torch.testing.assert_close(after, before, atol=2e-3, rtol=0)


def test_cli_exports_every_prior_knowledge_option_verified(full_tiny_model: Path):
    manifest = json.loads((full_tiny_model / "manifest.json").read_text())
    assert manifest["tokenizer_version"] == "tweet-v3"
    assert manifest["tokenizer"] == {
        "options": {"hashtags": True, "elongations": True, "emoticons": True, "emoji": True},
        "words": "words.json",
        "emoji": "emoji.json",
    }
    assert {"model.pt", "vocab.json", "words.json", "emoji.json"} == set(manifest["files"])
    assert (full_tiny_model / "model-int8.json").is_file()  # tiny args: --int8 (derived, not in the manifest)
    assert manifest["features"]["negation"] == 1 and manifest["parity"]["max_abs_diff"] <= 1e-5
    voc = manifest["metrics"]["vocabulary"]
    assert voc["vocab_total"] >= voc["vocab_trained"] + 2000 and voc["test_oov"] < voc["test_oov_trained_vocab"]
    assert voc["vector_rows"] > 2000 and voc["lexicon_rows"] > 1000
    assert set(manifest["metrics"]["class_bias"]) == {"negative", "neutral", "positive"}
    art = load_artifact(full_tiny_model, "cpu")
    members = list(art.module.members.children())
    assert len(members) == 2 and float(art.module.class_bias[1]) == 0.0
    assert all(m.vectors.shape == (len(art.encoder.itos), 50) for m in members)
    # the frozen GloVe table is shared by the members: one storage of its size in the archive
    table_bytes = members[0].vectors.numel() * 2  # float16
    with zipfile.ZipFile(full_tiny_model / "model.pt") as z:
        sizes = [i.file_size for i in z.infolist() if "/data/" in i.filename]
    assert sizes.count(table_bytes) == 1
