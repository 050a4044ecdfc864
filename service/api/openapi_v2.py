"""The Open Inference Protocol routes (service/api/v2.py) in the OpenAPI document: paths, bodies, answers.

The ``{name}`` and ``{version}`` path parameters are the served model's (an enum once it is loaded): any other
value is a 404. One rule of the protocol has no JSON Schema form: an input's ``shape`` must be ``[len(data)]``
(the server answers 400 otherwise); loadtests/reliability/schemathesis.toml says so to schemathesis.
"""

from __future__ import annotations

from typing import Any

from service.api.v2 import INPUT, OUTPUTS
from service.api.validation import TEXT_PATTERN

_TAG = ["Open Inference Protocol (V2)"]


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(desc: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": schema}}}


def _error(desc: str) -> dict[str, Any]:
    return _json(desc, _ref("ErrorResponse"))


def _param(name: str, values: list[str] | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if values is not None:
        schema["enum"] = values
    return {"name": name, "in": "path", "required": True, "schema": schema}


def v2_paths(model: dict[str, Any] | None, errors: dict[str, Any]) -> dict[str, Any]:
    """The V2 path items; `model` (``GET /model``'s answer) fixes the names and versions once loaded."""
    names = [model["name"]] if model else None
    versions = [model["version"]] if model else None
    not_loaded = _error("the model is not loaded yet")
    unknown = _error("unknown model or version")

    def get(op: str, desc: str, schema: str, *, auth: bool = True, loaded: bool = True) -> dict[str, Any]:
        responses: dict[str, Any] = {"200": _json(desc, _ref(schema))}
        if auth:
            responses["401"] = errors["401"]
        if loaded:
            responses["503"] = not_loaded
        return {"get": {"tags": _TAG, "operationId": op, "description": desc, "responses": responses}}

    def model_ops(prefix: str, params: list[dict[str, Any]], suffix: str) -> dict[str, Any]:
        meta = get(f"v2_model_metadata{suffix}", "model metadata: input, outputs, class order", "V2ModelMetadata")
        ready = get(f"v2_model_ready{suffix}", "the model is ready", "V2ModelReady")
        infer_responses = {
            "200": _json("the label and scores tensors", _ref("V2InferenceResponse")),
            **{code: errors[code] for code in ("400", "401", "405", "413", "415", "429")},
            "404": unknown,
            "503": not_loaded,
        }
        infer = {
            "post": {
                "tags": _TAG,
                "operationId": f"v2_infer{suffix}",
                "description": "Classify texts: a BYTES tensor 'text' of shape [N] -> 'label' [N] and 'scores' [N, C]"
                " (the batcher, limits, API key and metrics of /predict; same answers).",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("V2InferenceRequest")}},
                },
                "responses": infer_responses,
            }
        }
        out = {}
        for path, item in ((prefix, meta), (f"{prefix}/ready", ready), (f"{prefix}/infer", infer)):
            for op in item.values():
                op["parameters"] = params
                if path != f"{prefix}/infer":
                    op["responses"]["404"] = unknown
            out[path] = item
        return out

    name, version = _param("name", names), _param("version", versions)
    return {
        "/v2": get("v2_server_metadata", "server metadata", "V2ServerMetadata", loaded=False),
        "/v2/health/live": get("v2_live", "the server is live", "V2Live", auth=False, loaded=False),
        "/v2/health/ready": get("v2_ready", "the model is loaded and warmed up", "V2Ready", auth=False),
        **model_ops("/v2/models/{name}", [name], ""),
        **model_ops("/v2/models/{name}/versions/{version}", [name, version], "_version"),
    }


def v2_schemas(max_texts: int, max_chars: int) -> dict[str, Any]:
    obj = {"type": "object"}
    tensor_meta = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "parameters": obj,
        },
        "required": ["name", "datatype", "shape"],
    }
    text = {"type": "string", "minLength": 1, "maxLength": max_chars, "pattern": TEXT_PATTERN}
    return {
        "V2ServerMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "extensions": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name", "version", "extensions"],
        },
        "V2Live": {"type": "object", "properties": {"live": {"type": "boolean"}}, "required": ["live"]},
        "V2Ready": {"type": "object", "properties": {"ready": {"type": "boolean"}}, "required": ["ready"]},
        "V2ModelReady": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
            "required": ["name", "ready"],
        },
        "V2ModelMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": tensor_meta},
                "outputs": {"type": "array", "items": tensor_meta},
            },
            "required": ["name", "platform", "inputs", "outputs"],
        },
        "V2InferenceRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "model_name": {"type": "string", "description": "sent by KServe's SDK; ignored (the path names it)"},
                "parameters": obj,
                "inputs": {"type": "array", "minItems": 1, "maxItems": 1, "items": _ref("V2TextTensor")},
                "outputs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {"name": {"type": "string", "enum": list(OUTPUTS)}, "parameters": obj},
                    },
                },
            },
        },
        "V2TextTensor": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "shape", "datatype", "data"],
            "properties": {
                "name": {"type": "string", "enum": [INPUT]},
                "datatype": {"type": "string", "enum": ["BYTES"]},
                "shape": {
                    "type": "array",
                    "description": "[N]: N is the number of texts in data",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": {"type": "integer", "minimum": 1, "maximum": max_texts},
                },
                "data": {"type": "array", "minItems": 1, "maxItems": max_texts, "items": text},
                "parameters": {
                    "type": "object",
                    "description": "binary_data_size (the binary tensor extension) is not supported",
                    "not": {"required": ["binary_data_size"]},
                },
            },
            "example": {"name": INPUT, "shape": [2], "datatype": "BYTES", "data": ["I love it :)", "meh."]},
        },
        "V2InferenceResponse": {
            "type": "object",
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "outputs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "enum": list(OUTPUTS)},
                            "datatype": {"type": "string", "enum": ["BYTES", "FP32"]},
                            "shape": {"type": "array", "items": {"type": "integer"}},
                            "data": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"}]}},
                        },
                        "required": ["name", "datatype", "shape", "data"],
                    },
                },
            },
            "required": ["model_name", "outputs"],
        },
    }
