import pytest

from service.core.tokenizer import (
    ALLCAPS,
    ELONG,
    HASHTAG,
    KNOWN_VERSIONS,
    NUMBER,
    TOKENIZER_VERSION,
    URL,
    USER,
    Tokenizer,
    TokenizerOptions,
    negation_scope,
    tokenize,
)


def test_placeholders_for_urls_users_numbers():
    assert tokenize("@bob see http://t.co/abc at 10:30pm for $3.39") == [
        USER,
        "see",
        URL,
        "at",
        NUMBER,
        "for",
        NUMBER,
    ]


def test_hashtag_split_into_marker_and_word():
    assert tokenize("#Blessed day") == [HASHTAG, "blessed", "day"]


def test_emoticons_and_emoji_are_tokens():
    toks = tokenize("great :) :-( <3 xD 😂😂 👍🏽")
    assert toks == ["great", ":)", ":-(", "<3", "xd", "😂", "😂", "👍🏽"]


def test_elongation_and_caps_markers():
    assert tokenize("SOOOOO good") == ["soo", ELONG, ALLCAPS, "good"]
    assert tokenize("I am OK") == ["i", "am", "ok", ALLCAPS]


def test_html_entities_apostrophes_and_repeated_punctuation():
    assert tokenize("rock &amp; roll!!!! can’t wait....") == [
        "rock",
        "&",
        "roll",
        "!!",
        "can't",
        "wait",
        "...",
    ]


def test_empty_and_symbol_only_text():
    assert tokenize("") == []
    assert tokenize("   ") == []
    assert tokenize("\u200b") == []


def test_lone_surrogates_and_control_characters_do_not_crash():
    assert isinstance(tokenize("bad \ud800 text \x00\x1f"), list)


WORDS = {"love": 500, "my": 900, "job": 300, "good": 800, "god": 200, "cool": 400, "col": 5, "happy": 600,
         "birthday": 300, "so": 2000, "not": 1500}  # fmt: skip


def test_every_option_off_is_tweet_v1():
    off = Tokenizer(TokenizerOptions())
    for text in ["#LoveMyJob sooo goooood :-))) =(", "I don't like it, but ok", "@bob http://x.co 10:30pm"]:
        assert off(text) == tokenize(text)
    assert "tweet-v1" in KNOWN_VERSIONS and TOKENIZER_VERSION in KNOWN_VERSIONS


def test_hashtag_segmentation_by_camel_case_and_word_counts():
    t = Tokenizer(TokenizerOptions(hashtags=True), WORDS)
    assert t("#LoveMyJob") == [HASHTAG, "love", "my", "job"]
    assert t("#lovemyjob #happybirthday") == [HASHTAG, "love", "my", "job", HASHTAG, "happy", "birthday"]
    assert t("#tbt #MAGA") == [HASHTAG, "tbt", HASHTAG, "maga"]  # short tags and acronyms stay whole


def test_elongations_resolve_to_the_most_frequent_known_spelling():
    t = Tokenizer(TokenizerOptions(elongations=True), WORDS)
    assert t("goooood cooool sooooo") == ["good", ELONG, "cool", ELONG, "so", ELONG]
    assert t("zzzzzz") == ["zz", ELONG]  # unknown: the 2-letter rule of tweet-v1


def test_emoticons_are_canonical():
    t = Tokenizer(TokenizerOptions(emoticons=True))
    assert t(":-))) =( ;-) D: :-P <333") == [":)", ":(", ";)", ":(", ":P", "<3"]


def test_options_that_read_the_word_table_need_one():
    with pytest.raises(ValueError, match="word table"):
        Tokenizer(TokenizerOptions(hashtags=True))


def test_negation_scope_runs_to_the_next_clause_boundary():
    toks = tokenize("I don't like it, but never again! not #happy")
    scope = negation_scope(toks)
    assert [t for t, s in zip(toks, scope, strict=True) if s] == ["like", "it", "again"]
    assert negation_scope([]) == []


def test_emoji_option_rewrites_emoji_from_the_table_and_keeps_unknown_ones():
    from service.core.tokenizer import Tokenizer, TokenizerOptions

    tok = Tokenizer(TokenizerOptions(emoji=True), emoji={"😍": "<3", "🍕": "pizza", "😂": ":D"})
    assert tok.tokenize("😍😍 love it") == ["<3", "<3", "love", "it"]
    assert tok.tokenize("🍕 and 😂🏽 and 🦄") == ["pizza", "and", ":D", "and", "🦄"]  # skin tone stripped
    assert tok.tokenize("❤️") == Tokenizer().tokenize("❤️")  # not in this table: kept as it was
    assert Tokenizer().tokenize("😍") == ["😍"]  # option off: tweet-v2 tokens


def test_emoji_option_without_a_table_is_refused():
    from service.core.tokenizer import Tokenizer, TokenizerOptions

    with pytest.raises(ValueError, match="emoji table"):
        Tokenizer(TokenizerOptions(emoji=True))
