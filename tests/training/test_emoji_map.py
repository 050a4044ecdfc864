"""The emoji table the tokenizer's emoji option ships (training/emoji_map.py)."""

from training.emoji_map import EMOTICON_CLASSES, emoji_table, emoticon_table, name_table


def test_every_class_is_a_canonical_emoticon_and_no_emoji_is_in_two_classes():
    from service.core.tokenizer import Tokenizer, TokenizerOptions

    canon = Tokenizer(TokenizerOptions(emoticons=True))
    for emoticon in EMOTICON_CLASSES:
        assert canon.tokenize(emoticon) == [emoticon]  # the forms the canonicaliser writes
    table = emoticon_table()
    assert sum(len(v) for v in EMOTICON_CLASSES.values()) == len(table)  # emoticon_table raises on a clash


def test_faces_map_to_emoticons_and_objects_to_their_names():
    table = emoji_table()
    assert table["😍"] == "<3" and table["😡"] == ":(" and table["😂"] == ":D" and table["❤"] == "<3"
    assert table["🍕"] == "pizza" and table["🏀"] == "basketball"
    assert all(1 <= len(v.split()) <= 3 for v in name_table().values())
    assert all(len(k) == 1 for k in table)  # looked up without modifiers
