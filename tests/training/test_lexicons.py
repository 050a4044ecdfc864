from training.lexicons import LEXICONS, lexicon_table, lexicon_words, load_lexicon


def test_the_shipped_lexicons_load_with_their_scales():
    vader, afinn, emoji = (load_lexicon(n) for n in LEXICONS)
    assert len(vader) > 7000 and len(afinn) > 3000 and len(emoji) > 700
    assert vader["good"] > 0 > vader["bad"] and afinn["hate"] < 0 and emoji["😂"] > 0 > emoji["😠"]
    assert all(-1.0 <= v <= 1.0 for lex in (vader, afinn, emoji) for v in lex.values())
    assert ":)" in vader and ":(" in afinn  # emoticons as the tokenizer keeps them
    assert all(" " not in w for w in afinn)  # phrases skipped


def test_table_has_a_positive_and_a_negative_column_per_lexicon():
    itos = ["<pad>", "<unk>", "good", "awful", "table", "👍🏽"]
    t = lexicon_table(itos, ["vader", "emoji"])
    assert t.shape == (6, 4) and (t >= 0).all() and (t <= 1).all()
    assert (t[:2] == 0).all() and (t[4] == 0).all()  # specials and neutral words are zero
    assert t[2, 0] > 0 and t[2, 1] == 0 and t[3, 1] > 0 and t[3, 0] == 0
    assert t[5, 2] > 0  # an emoji with a skin-tone modifier reads the base emoji's entry
    assert "good" in lexicon_words(["vader"]) and "😂" in lexicon_words(["emoji"])
