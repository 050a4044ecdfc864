"""``GET /docs.json``: BentoML's OpenAPI document with what the ASGI layer adds (``POST /predict``, whose one
handler is the middleware's, GET /model, the Open Inference Protocol routes of service/api/v2.py, every error
response, request bodies that are required and closed), so the document and the server agree (schemathesis
``--checks all`` runs against it in the test suite)."""

from __future__ import annotations

import json
from typing import Any

from service.api.asgi import ASGIApp, Message, Receive, Scope, Send, respond
from service.api.model_info import ModelInfo
from service.api.openapi_v2 import v2_paths, v2_schemas
from service.api.validation import TEXT_PATTERN
from service.core.schemas import Prediction

API_PATHS = ("/predict", "/explain")
# replaces BentoML's default description, whose badges are images from img.shields.io, readthedocs.org and
# badgen.net: the API docs page (/docs) renders it and must load nothing from another host (service/api/pages.py)
DESCRIPTION = (
    "Tweet sentiment (negative / neutral / positive). `POST /predict` classifies up to 256 texts, `POST /explain` "
    "gives per-token attributions, `GET /model` describes the served model. Try it in the [playground](/)."
)
_ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
EXAMPLE_TEXTS = [
    "I love this phone, best purchase ever :)",
    "Worst customer service I have ever had.",
    "The meeting is moved to 3pm on Tuesday.",
]


def _error(desc: str, example: str) -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": _ERROR, "example": {"error": example}}}}


ERRORS = {
    "400": _error("invalid body (field/index named)", "texts[2]: text has 2345 characters, the limit is 2000"),
    "401": _error("API key required", "missing or invalid API key: send 'Authorization: Bearer <key>'"),
    "405": _error("wrong method", "method GET is not allowed on /predict: use POST"),
    "413": _error("body too large", "request body is 2000000 bytes, the limit is 1048576 bytes"),
    "415": _error("wrong content type", "content type 'text/plain' is not supported: send application/json"),
    "429": _error("overloaded", "too many requests in flight (limit 256 per worker); retry shortly"),
}


def predict_operation(max_texts: int, max_chars: int) -> dict[str, Any]:
    """``POST /predict`` (answered by the middleware, service/api/middleware.py: BentoML does not know it)."""
    text = {"type": "string", "minLength": 1, "maxLength": max_chars, "pattern": TEXT_PATTERN}
    texts = {"type": "array", "title": "Texts", "items": text, "minItems": 1, "maxItems": max_texts}
    body = {
        "type": "object",
        "title": "predict__Input",
        "required": ["texts"],
        "properties": {"texts": {**texts, "examples": [EXAMPLE_TEXTS]}},
    }
    rows = {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}}
    return {
        "tags": ["Service APIs"],
        "operationId": "tweet_sentiment__predict",
        "description": "Classify tweets: one {label, scores} per text, in input order. Concurrent requests are "
        "merged into one model batch (sorted by length inside the batch to cut padding).",
        "requestBody": {"content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {"description": "one prediction per text", "content": {"application/json": {"schema": rows}}},
            "500": _error("the model failed (see the server log)", "prediction failed; see the server log"),
            "503": _error("the model is not loaded yet", "the model is not loaded yet; retry shortly"),
        },
    }


def extra_paths(max_texts: int = 256, max_chars: int = 2000) -> dict[str, Any]:
    return {
        "/predict": {"post": predict_operation(max_texts, max_chars)},
        "/model": {
            "get": {
                "tags": ["Service APIs"],
                "operationId": "tweet_sentiment__model",
                "description": "The served model: name, version, sha256, labels, metrics, device.",
                "responses": {
                    "200": {
                        "description": "model metadata",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelInfo"}}},
                    },
                    "401": ERRORS["401"],
                },
            }
        },
    }


def extra_schemas() -> dict[str, Any]:
    prediction = Prediction.model_json_schema(ref_template="#/components/schemas/{model}")
    return {
        **prediction.pop("$defs", {}),
        "Prediction": prediction,
        "ModelInfo": ModelInfo.model_json_schema(ref_template="#/components/schemas/{model}"),
        "ErrorResponse": {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "field": {"type": "string", "description": "the offending field, e.g. texts[3]"},
                "request_id": {"type": "string"},
            },
            "required": ["error"],
        },
    }


def patch(
    spec: dict[str, Any], model: dict[str, Any] | None = None, max_texts: int = 256, max_chars: int = 2000
) -> dict[str, Any]:
    """BentoML's spec + GET /model, the V2 routes (of `model` once loaded), the error responses, required and
    closed request bodies, the schemas, and a description that links nowhere else."""
    spec.setdefault("info", {})["description"] = DESCRIPTION
    spec["info"].pop("contact", None)  # BentoML's team, not this service's
    paths = {**extra_paths(max_texts, max_chars), **v2_paths(model, ERRORS)}
    for path, item in paths.items():
        spec["paths"].setdefault(path, {}).update(item)
    for path in API_PATHS:
        post = spec["paths"].get(path, {}).get("post")
        if post is None:
            continue
        post["responses"].update(ERRORS)
        body = post.get("requestBody")
        if body is not None:
            body["required"] = True  # the APIs answer 400 to an empty body
            for media in body.get("content", {}).values():  # ... and to unknown fields
                media.get("schema", {}).setdefault("additionalProperties", False)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.update({**extra_schemas(), **v2_schemas(max_texts, max_chars)})
    return spec


async def serve_docs(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, model: dict[str, Any] | None, limits: tuple[int, int]
) -> int:
    """BentoML builds its document; the patched one is answered (`limits`: texts per request, characters per
    text). Returns the status."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    if start.get("status") != 200:
        return await respond(send, start.get("status", 500), {"error": "could not build the OpenAPI spec"}, [])
    return await respond(send, 200, patch(json.loads(b"".join(chunks)), model, *limits), [])
