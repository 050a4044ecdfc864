"""Fill-in lists of the behavioural suite (service/core/behaviour.py). Written by hand for this project; kept apart
from the model's own emoji table (built at training time) so the suite does not grade the model with its own map."""

from __future__ import annotations

NOUNS = (
    "phone",
    "movie",
    "service",
    "food",
    "game",
    "flight",
    "hotel",
    "show",
    "album",
    "update",
    "concert",
    "coffee",
)
POS_ADJ = (
    "good",
    "great",
    "amazing",
    "excellent",
    "awesome",
    "wonderful",
    "fantastic",
    "brilliant",
    "lovely",
    "perfect",
)
NEG_ADJ = ("bad", "terrible", "awful", "horrible", "boring", "disappointing", "poor", "useless", "annoying", "lame")
POS_VERBS = ("love", "like", "enjoy", "adore", "recommend")
NEG_VERBS = ("hate", "dislike", "despise", "regret buying", "can't stand")
NEUTRAL_FACTS = (
    "The {n} starts at 7 pm.",
    "I am going to the {n} on Friday",
    "The {n} is on channel 4 tonight",
    "Has anyone seen the {n} schedule for Monday?",
    "the {n} was moved to Thursday",
    "Reading about the new {n} in the paper",
)
NEUTRAL_NOT = (
    "The {n} is not on Monday.",
    "The {n} is not in London this year",
    "I did not go to the {n} yesterday",
    "the {n} does not start until 9",
    "The {n} is not part of the package.",
)
# emoticon -> emoji a person would write for it (the emoji side of the emoticon/emoji invariance test)
EMOTICON_EMOJI = {
    ":)": ("🙂", "😊", "☺️"),
    ":(": ("🙁", "😞", "☹️"),
    ":D": ("😀", "😃", "😄"),
    "<3": ("❤️", "💕", "💖"),
    ";)": ("😉",),
    ":P": ("😛", "😝"),
}
POS_EMOJI = ("😍", "❤️", "😊", "😀", "🥰", "👍", "💕", "😁", "😘", "🎉")
NEG_EMOJI = ("😡", "😭", "😠", "😢", "💔", "👎", "😤", "😞", "🤬", "😩")
CONTRACTIONS = (
    ("is not", "isn't"),
    ("do not", "don't"),
    ("was not", "wasn't"),
    ("cannot", "can't"),
    ("I am", "I'm"),
)
NAMES = ("John", "Maria", "Ahmed", "Mei", "Olga", "Kwame", "Sofia", "Raj", "Emily", "Carlos", "Yuki", "Fatima")
CITIES = ("London", "Paris", "Lagos", "Mumbai", "Toronto", "Sydney", "Berlin", "Cairo", "Lima", "Seoul", "Dallas")
INTENSIFIERS = ("very", "really", "extremely", "so", "incredibly")
HEDGES = ("somewhat", "kind of", "a bit", "fairly", "slightly")
