from service.core.tokenizer import ALLCAPS, ELONG, HASHTAG, NUMBER, URL, USER, tokenize


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
