"""The encoder's negation marker and its own tokenizer (service/core/features.py)."""

from service.core.features import Encoder, FeatureConfig, collate, negation_id
from service.core.tokenizer import HASHTAG, Tokenizer, TokenizerOptions

ITOS = ["<pad>", "<unk>", "i", "don't", "like", "it", ",", "but", "ok", "love", "my", "job", HASHTAG]


def test_tokens_in_a_negation_scope_carry_the_reserved_sub_word_id():
    cfg = FeatureConfig(max_len=16, subword_buckets=100, negation=1)
    enc = Encoder(ITOS, cfg)
    e = enc.encode("I don't like it, but ok")
    marked = [negation_id(100) in grams for grams in e.sub_ids]
    assert marked == [False, False, True, True, False, False, False]
    assert all(0 < g <= 100 for grams in e.sub_ids for g in grams if g != negation_id(100))
    word, sub, lengths = collate([e])
    assert word.tolist() == [e.word_ids]
    assert int((sub == negation_id(100)).sum()) == 2 and lengths.tolist() == [7]


def test_without_the_option_nothing_is_marked():
    enc = Encoder(ITOS, FeatureConfig(max_len=16, subword_buckets=100))
    assert all(negation_id(100) not in grams for grams in enc.encode("I don't like it").sub_ids)


def test_the_encoder_tokenizes_with_the_models_options():
    words = {"love": 5, "my": 9, "job": 3}
    enc = Encoder(ITOS, FeatureConfig(max_len=16, subword_buckets=0), Tokenizer(TokenizerOptions(True), words))
    assert enc.tokenize("#lovemyjob") == [HASHTAG, "love", "my", "job"]
    assert enc.encode("#lovemyjob").word_ids == [12, 9, 10, 11] and enc.encode("#lovemyjob").n_oov == 0
