"""The emoji table of the tokenizer's ``emoji`` option (training time only; the artifact carries it as emoji.json).

Not one labelled training tweet contains an emoji, so an emoji token never gets a training signal of its own.
The table rewrites each emoji into tokens the training data and the prior knowledge do contain:

* emoji whose meaning is an emoticon's (faces, hearts, thumbs) -> that canonical emoticon (``😍`` -> ``<3``,
  ``😡`` -> ``:(``, ``😂`` -> ``:D``): the model's weights for ``:)``/``:(``/``<3``, learned from ~2,400 labelled
  tweets that contain emoticons, then carry over. The classes are hand-picked below (reviewed one by one) rather
  than thresholded from the Emoji Sentiment Ranking, whose scores for faces such as ``😭`` (-0.09) are weak;
* every other emoji -> the words of its CLDR short name from the ``emoji`` package (``🍕`` -> ``pizza``,
  ``🏀`` -> ``basketball``), which GloVe and the lexicons know; names of more than three words are left out and
  the emoji kept as it is.

Keys are emoji without variation selectors, skin tones or joiners, stripped by the tokenizer's own
`strip_emoji_modifiers` (the lookup strips them the same way).
"""

from __future__ import annotations

import re

from service.core.tokenizer import strip_emoji_modifiers

# canonical emoticon (one of the tokenizer's _EMOTICON_CANON forms) -> emoji that mean it
EMOTICON_CLASSES: dict[str, str] = {
    ":)": "🙂😊☺😌😇🤗😺😸👍👌🙌👏💪✨🌞🌟⭐🎉🎊🥳✅💯🔥🙏☀😎😋🤩",
    ":D": "😀😃😄😁😆😂🤣😹😅",
    "<3": "❤♥💕💖💗💓💞💘💝💙💚💛💜🧡🤍🤎😍🥰😘😻💋😚😙💑💏🫶",
    ";)": "😉",
    ":P": "😛😝😜🤪",
    ":(": "☹🙁😞😔😟😢😭😥😓😩😫😿😖😣😡😠🤬👎😤🤮🤢💩😰😨😱😧😦😪🥺😾🖕",
    ":/": "😕😒🙄😑😬🤨",
    "</3": "💔",
}
_NAME_RE = re.compile(r"[a-z]+")
_DROP = {"face", "with", "button", "symbol", "sign", "mark", "of", "and", "the", "a"}


def emoticon_table() -> dict[str, str]:
    """emoji (modifiers stripped) -> canonical emoticon."""
    out: dict[str, str] = {}
    for emoticon, chars in EMOTICON_CLASSES.items():
        for ch in chars:
            key = strip_emoji_modifiers(ch)
            if key in out and out[key] != emoticon:
                raise ValueError(f"emoji {ch!r} is listed under both {out[key]!r} and {emoticon!r}")
            out[key] = emoticon
    return out


def name_table(max_words: int = 3) -> dict[str, str]:
    """single-code-point emoji (modifiers stripped) -> the words of its CLDR short name (``emoji`` package)."""
    import emoji  # training extra only

    out: dict[str, str] = {}
    for ch, data in emoji.EMOJI_DATA.items():
        key = strip_emoji_modifiers(ch)
        if len(key) != 1:  # sequences (flags, families, keycaps): the tokenizer sees their parts
            continue
        words = [w for w in _NAME_RE.findall(data["en"].lower()) if w not in _DROP]
        if words and len(words) <= max_words:
            out[key] = " ".join(words)
    return out


def emoji_table() -> dict[str, str]:
    """The table the tokenizer's emoji option reads: emoticon classes first, CLDR names for the rest."""
    return {**name_table(), **emoticon_table()}
