"""The answers, defined once: what `Predictor.predict` and `explain` return, what the API serialises and documents
(OpenAPI), and what the client parses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

EXAMPLE_SCORES = {"negative": 0.021, "neutral": 0.113, "positive": 0.866}


class Scores(BaseModel):
    negative: float = Field(ge=0, le=1)
    neutral: float = Field(ge=0, le=1)
    positive: float = Field(ge=0, le=1)


class Prediction(BaseModel):
    label: str = Field(description="the most probable class", examples=["positive"])
    scores: Scores = Field(
        description="calibrated probabilities of the three classes (sum to 1)", examples=[EXAMPLE_SCORES]
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Prediction:
        """A ``{"label", "scores"}`` row of `predictor.label_rows` (values from the model: not validated again)."""
        return cls.model_construct(label=row["label"], scores=Scores.model_construct(**row["scores"]))


class TokenAttribution(BaseModel):
    token: str = Field(description="a normalised token, as the model reads it", examples=["love"])
    attribution: float = Field(
        description="p(label | text) - p(label | text without this token): > 0 supports the label", examples=[0.31]
    )


class Explanation(BaseModel):
    label: str = Field(examples=["positive"])
    scores: Scores = Field(examples=[EXAMPLE_SCORES])
    method: str = Field("occlusion", description="how attributions are computed (leave one token out)")
    tokens: list[TokenAttribution] = Field(description="one entry per token, in text order")
    truncated: bool = Field(description="the text has more tokens than are explained (the rest are omitted)")
