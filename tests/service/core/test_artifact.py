import json
import pickle
import shutil

import pytest

from service.core.artifact import load_artifact
from service.core.manifest import MANIFEST_FILE, MODEL_FILE, ModelLoadError, sha256_file
from service.core.predictor import Predictor
from service.core.tokenizer import TokenizerOptions, tokenize


@pytest.fixture()
def model_copy(tiny_model, tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(tiny_model, dst)
    return dst


def test_loads_and_predicts(tiny_model):
    art = load_artifact(tiny_model, "cpu")
    preds = Predictor(art).predict(["I love this", "I hate this", "the bus leaves at 5"])
    assert len(preds) == 3
    for p in preds:
        assert p.label in ("negative", "neutral", "positive")
        assert sum(p.scores.model_dump().values()) == pytest.approx(1.0, abs=1e-4)


def test_flipped_byte_is_refused(model_copy):
    path = model_copy / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256 mismatch"):
        load_artifact(model_copy)


def test_manifest_with_wrong_hash_is_refused(model_copy):
    m = json.loads((model_copy / MANIFEST_FILE).read_text())
    m["files"][MODEL_FILE] = "0" * 64
    (model_copy / MANIFEST_FILE).write_text(json.dumps(m))
    with pytest.raises(ModelLoadError, match="sha256 mismatch"):
        load_artifact(model_copy)


class Evil:
    def __reduce__(self):
        return (exec, ("open('/tmp/pwned-by-model', 'w').write('x')",))


def test_pickle_pretending_to_be_a_model_is_never_unpickled(model_copy, tmp_path):
    path = model_copy / MODEL_FILE
    path.write_bytes(pickle.dumps(Evil()))
    m = json.loads((model_copy / MANIFEST_FILE).read_text())
    m["files"][MODEL_FILE] = sha256_file(path)  # even with a matching hash
    (model_copy / MANIFEST_FILE).write_text(json.dumps(m))
    with pytest.raises(ModelLoadError, match="not a TorchScript archive"):
        load_artifact(model_copy)
    assert not (tmp_path / "pwned").exists()


def test_symlink_outside_model_dir_is_refused(model_copy, tiny_model, tmp_path):
    outside = tmp_path / "elsewhere.pt"
    shutil.copy(tiny_model / MODEL_FILE, outside)
    (model_copy / MODEL_FILE).unlink()
    (model_copy / MODEL_FILE).symlink_to(outside)
    with pytest.raises(ModelLoadError, match="outside the model directory"):
        load_artifact(model_copy)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: m.update(tokenizer_version="tweet-v0"), "tokenizer"),
        (lambda m: m.update(tokenizer={"options": {"stemming": True}}), "unknown tokenizer options"),
        (lambda m: m.update(tokenizer={"options": {"hashtags": True}, "words": None}), "word table"),
        (lambda m: m["files"].pop("words.json", None) or m.update(tokenizer={"words": "words.json"}), "no sha256"),
        (lambda m: m.update(format_version=99), "format"),
        (lambda m: m.pop("labels"), "not a valid manifest"),
    ],
)
def test_incompatible_manifests_are_refused(model_copy, mutate, message):
    m = json.loads((model_copy / MANIFEST_FILE).read_text())
    mutate(m)
    (model_copy / MANIFEST_FILE).write_text(json.dumps(m))
    with pytest.raises(ModelLoadError, match=message):
        load_artifact(model_copy)


def test_missing_directory_and_manifest(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_artifact(tmp_path / "nope")
    with pytest.raises(ModelLoadError, match="no manifest.json"):
        load_artifact(tmp_path)


def test_vocabulary_of_another_model_is_refused_even_with_a_matching_manifest(model_copy):
    vocab = json.loads((model_copy / "vocab.json").read_text())
    (model_copy / "vocab.json").write_text(json.dumps([*vocab, "an-extra-token"]))
    m = json.loads((model_copy / MANIFEST_FILE).read_text())
    m["files"]["vocab.json"] = sha256_file(model_copy / "vocab.json")
    (model_copy / MANIFEST_FILE).write_text(json.dumps(m))
    with pytest.raises(ModelLoadError, match="another vocabulary"):
        load_artifact(model_copy)


def test_a_tweet_v1_manifest_is_served_with_the_options_off(model_copy):
    m = json.loads((model_copy / MANIFEST_FILE).read_text())
    m["tokenizer_version"] = "tweet-v1"
    m.pop("tokenizer", None)  # v1 manifests have no tokenizer entry
    (model_copy / MANIFEST_FILE).write_text(json.dumps(m))
    art = load_artifact(model_copy)
    assert art.encoder.tokenizer.options == TokenizerOptions()
    assert art.encoder.tokenize("#LoveMyJob sooo") == tokenize("#LoveMyJob sooo")


def test_the_word_table_is_read_from_the_artifact_and_hash_checked(model_copy):
    (model_copy / "words.json").write_text(json.dumps({"love": 9, "my": 8, "job": 7}))
    m = json.loads((model_copy / MANIFEST_FILE).read_text())
    m["tokenizer"] = {"options": {"hashtags": True}, "words": "words.json"}
    m["files"]["words.json"] = sha256_file(model_copy / "words.json")
    (model_copy / MANIFEST_FILE).write_text(json.dumps(m))
    assert load_artifact(model_copy).encoder.tokenize("#lovemyjob")[1:] == ["love", "my", "job"]
    (model_copy / "words.json").write_text(json.dumps({"love": 1}))
    with pytest.raises(ModelLoadError, match="sha256 mismatch"):
        load_artifact(model_copy)


def rewrite_manifest(model_dir, edit) -> None:
    m = json.loads((model_dir / MANIFEST_FILE).read_text())
    edit(m)
    (model_dir / MANIFEST_FILE).write_text(json.dumps(m))


def test_the_emoji_table_is_read_from_the_artifact_and_checked(model_copy):
    m = json.loads((model_copy / MANIFEST_FILE).read_text())
    assert m["tokenizer_version"] == "tweet-v3" and m["tokenizer"]["emoji"] == "emoji.json"
    assert load_artifact(model_copy).encoder.tokenize("😍 🍕") == ["<3", "pizza"]
    (model_copy / "emoji.json").write_text(json.dumps(["not", "an", "object"]))
    rewrite_manifest(model_copy, lambda m: m["files"].update({"emoji.json": sha256_file(model_copy / "emoji.json")}))
    with pytest.raises(ModelLoadError, match="emoji table must be a JSON object"):
        load_artifact(model_copy)
    rewrite_manifest(model_copy, lambda m: m["files"].pop("emoji.json"))
    with pytest.raises(ModelLoadError, match="lists no sha256 for the emoji table"):
        load_artifact(model_copy)


def test_a_tweet_v2_manifest_cannot_claim_the_emoji_option(model_copy):
    rewrite_manifest(model_copy, lambda m: m.update({"tokenizer_version": "tweet-v2"}))
    with pytest.raises(ModelLoadError, match="tweet-v2 has no emoji option"):
        load_artifact(model_copy)
