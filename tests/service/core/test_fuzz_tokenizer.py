"""Property tests: the tokenizer and encoder accept any string (surrogates, controls, huge) without raising."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.features import PAD, UNK, Encoder, FeatureConfig
from service.core.tokenizer import tokenize

ANY_TEXT = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=300)
TWEETISH = st.text(
    alphabet=st.sampled_from(list("aAbZz09 :;()!?#@$.,'’-_/<3xD😀👍\u200b\ufeff\n\t\x00&;")), max_size=200
)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.one_of(ANY_TEXT, TWEETISH))
def test_tokenize_never_raises_and_returns_clean_tokens(text):
    tokens = tokenize(text)
    assert isinstance(tokens, list)
    assert all(isinstance(t, str) and t and not t.isspace() for t in tokens)
    assert tokenize(text) == tokens  # deterministic (the lru_cache must not change results)


@FUZZ
@given(st.one_of(ANY_TEXT, TWEETISH))
def test_tokens_never_contain_whitespace_or_controls(text):
    for t in tokenize(text):
        assert not any(c in t for c in " \t\n\r\x00\x1f\x7f\u200b\ufeff"), (text, t)


@FUZZ
@given(st.one_of(ANY_TEXT, TWEETISH), st.integers(1, 64))
def test_encoder_gives_valid_ids_for_any_text(text, max_len):
    itos = [PAD, UNK, "<url>", "<user>", "love", "hate", ":)"]
    enc = Encoder(itos, FeatureConfig(max_len=max_len, subword_buckets=50))
    e = enc.encode(text)
    assert 1 <= e.length <= max_len  # a text without tokens still gets one (unknown) step
    assert all(0 < i < len(itos) for i in e.word_ids)
    assert all(all(1 <= s <= 50 for s in subs) for subs in e.sub_ids)
    assert len(e.sub_ids) == e.length


@settings(max_examples=20, deadline=None)
@given(st.integers(10_000, 200_000))
def test_giant_texts_are_bounded_by_max_len(n):
    enc = Encoder([PAD, UNK], FeatureConfig(max_len=64))
    assert enc.encode("word " * (n // 5)).length == 64
