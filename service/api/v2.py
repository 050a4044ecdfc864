"""The Open Inference Protocol (KServe / Triton "V2"), REST: its routes, request parsing and answers.

Only the protocol's vocabulary lives here; the middleware (service/api/middleware.py) runs a V2 inference through
the same steps as ``/predict`` (API key, limits, batcher, metrics, logs). The model has

* one input ``text``: ``BYTES``, shape ``[N]`` (1 <= N <= SENTIMENT_MAX_TEXTS), UTF-8 texts as JSON strings;
* two outputs: ``label`` (``BYTES``, ``[N]``) and ``scores`` (``FP32``, ``[N, C]``, row-major), the classes in
  the order the metadata states (``outputs[1].parameters.classes``, the manifest's labels).

JSON tensors only: the binary tensor data extension is not implemented. A request that uses it (header
``Inference-Header-Content-Length`` or an input's ``binary_data_size``) gets a 415; a request for binary outputs
(``binary_data_output`` / ``binary_data``, what tritonclient asks by default) is answered in JSON, which the
clients read as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from service.api.asgi import Scope, header
from service.api.validation import RequestError, check_text, json_type, load_json

INPUT = "text"
OUTPUTS = ("label", "scores")
SERVER_NAME = "tweet-sentiment"
BINARY_HEADER = b"inference-header-content-length"

# /v2/models/{name}[/versions/{version}][/ready | /infer]
_MODEL_ROUTE = re.compile(r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<action>/ready|/infer)?$")


@dataclass(frozen=True)
class Route:
    """Which V2 endpoint a path names: `kind` is server | live | ready | model | model_ready | infer."""

    kind: str
    name: str | None = None
    version: str | None = None


def route(path: str) -> Route | None:
    """The V2 endpoint of `path`, or None (unknown: 404)."""
    fixed = {"/v2": "server", "/v2/health/live": "live", "/v2/health/ready": "ready"}
    if path in fixed:
        return Route(fixed[path])
    m = _MODEL_ROUTE.match(path)
    if m is None:
        return None
    kind = {None: "model", "/ready": "model_ready", "/infer": "infer"}[m["action"]]
    return Route(kind, m["name"], m["version"])


def check_model(r: Route, info: dict[str, Any]) -> None:
    """404 unless `r` names the served model (its manifest name) and, if given, its version."""
    if r.name != info["name"]:
        raise RequestError(404, f"unknown model {r.name!r}: this server serves {info['name']!r}", None, "unknown_model")
    if r.version is not None and r.version != info["version"]:
        raise RequestError(
            404,
            f"unknown version {r.version!r} of model {r.name!r}: this server serves version {info['version']!r}",
            None,
            "unknown_version",
        )


def refuse_binary(scope: Scope) -> None:
    """The binary tensor data extension is not implemented: say so (415) instead of misreading the body."""
    if header(scope, BINARY_HEADER) is not None:
        raise RequestError(
            415,
            "binary tensor data (Inference-Header-Content-Length) is not supported: send JSON tensors "
            "(tritonclient: set_data_from_numpy(..., binary_data=False))",
            None,
            "binary_tensors",
        )


def server_metadata() -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": "2", "extensions": []}


def model_metadata(info: dict[str, Any]) -> dict[str, Any]:
    """The model's name, versions, input and outputs (-1: any size), the class order of ``scores``."""
    return {
        "name": info["name"],
        "versions": [info["version"]],
        "platform": "pytorch_torchscript",
        "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {
                "name": "scores",
                "datatype": "FP32",
                "shape": [-1, len(info["labels"])],
                "parameters": {"classes": list(info["labels"])},
            },
        ],
    }


@dataclass(frozen=True)
class InferRequest:
    texts: list[str]
    id: str | None
    outputs: tuple[str, ...]  # the requested outputs, in the order they are answered


def _closed(obj: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise RequestError(400, f"{where}: expected a JSON object, got {json_type(obj)}", where, "bad_shape")
    for key in obj:
        if key not in allowed:
            raise RequestError(400, f"{where}: unknown field {key!r} (allowed: {', '.join(allowed)})", key, "bad_shape")
    for key in required:
        if key not in obj:
            raise RequestError(400, f"{where}: required field {key!r} is missing", key, "bad_shape")
    return obj


def _parameters(obj: dict[str, Any], where: str) -> dict[str, Any]:
    params = obj.get("parameters", {})
    if not isinstance(params, dict):
        raise RequestError(
            400, f"{where}.parameters: expected a JSON object, got {json_type(params)}", where, "bad_shape"
        )
    return params


def _texts(tensor: dict[str, Any], max_texts: int, max_chars: int) -> list[str]:
    where = "inputs[0]"
    if tensor["name"] != INPUT:
        raise RequestError(
            400, f"{where}.name: unknown input {tensor['name']!r}: the model's input is {INPUT!r}", where, "bad_shape"
        )
    if tensor["datatype"] != "BYTES":
        raise RequestError(
            400, f"{where}.datatype: {tensor['datatype']!r}: the input {INPUT!r} is BYTES", where, "bad_datatype"
        )
    if "binary_data_size" in _parameters(tensor, where):
        raise RequestError(415, "binary tensor data is not supported: send the texts as JSON strings", where, "binary")
    data, shape = tensor["data"], tensor["shape"]
    if not isinstance(data, list) or not data:
        raise RequestError(400, f"{where}.data: expected 1 to {max_texts} strings", where, "bad_shape")
    if len(data) > max_texts:
        raise RequestError(400, f"{where}.data: {len(data)} texts, the limit is {max_texts}", where, "too_many_texts")
    if not (isinstance(shape, list) and len(shape) == 1 and type(shape[0]) is int and shape[0] == len(data)):
        raise RequestError(
            400, f"{where}.shape: {shape!r} does not match the data: expected [{len(data)}]", where, "bad_shape"
        )
    return [check_text(f"{where}.data[{i}]", t, max_chars) for i, t in enumerate(data)]


def _outputs(requested: Any) -> tuple[str, ...]:
    if not isinstance(requested, list):
        raise RequestError(400, f"outputs: expected an array, got {json_type(requested)}", "outputs", "bad_shape")
    names = []
    for i, out in enumerate(requested):
        out = _closed(out, f"outputs[{i}]", ("name", "parameters"), ("name",))
        _parameters(out, f"outputs[{i}]")  # binary_data: answered in JSON (module docstring)
        if out["name"] not in OUTPUTS:
            message = f"outputs[{i}].name: unknown output {out['name']!r} (outputs: label, scores)"
            raise RequestError(400, message, "outputs", "bad_shape")
        names.append(out["name"])
    return tuple(names) or OUTPUTS


def parse_infer(body: bytes, max_texts: int, max_chars: int) -> InferRequest:
    """An inference request ``{"id"?, "parameters"?, "inputs": [text tensor], "outputs"?}``, or a `RequestError`.
    ``model_name``, which KServe's SDK adds, is allowed and ignored: the path names the model."""
    allowed = ("id", "model_name", "parameters", "inputs", "outputs")
    obj = _closed(load_json(body), "request body", allowed, ("inputs",))
    _parameters(obj, "request body")
    for key in ("id", "model_name"):
        if key in obj and not isinstance(obj[key], str):
            raise RequestError(400, f"{key}: expected a string, got {json_type(obj[key])}", key, "bad_shape")
    rid = obj.get("id")
    inputs = obj["inputs"]
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise RequestError(400, f"inputs: expected exactly one tensor, {INPUT!r}", "inputs", "bad_shape")
    fields = ("name", "shape", "datatype", "data")
    tensor = _closed(inputs[0], "inputs[0]", (*fields, "parameters"), fields)
    texts = _texts(tensor, max_texts, max_chars)
    return InferRequest(texts, rid, _outputs(obj.get("outputs", [])))


def infer_response(request: InferRequest, rows: list[dict[str, Any]], info: dict[str, Any]) -> dict[str, Any]:
    """The answer of `request`: the ``/predict`` rows as the ``label`` and ``scores`` tensors."""
    labels = info["labels"]
    n = len(rows)
    tensors = {
        "label": {"name": "label", "datatype": "BYTES", "shape": [n], "data": [r["label"] for r in rows]},
        "scores": {
            "name": "scores",
            "datatype": "FP32",
            "shape": [n, len(labels)],
            "data": [r["scores"][lab] for r in rows for lab in labels],  # (N, C) row-major
        },
    }
    out: dict[str, Any] = {"model_name": info["name"], "model_version": info["version"]}
    if request.id is not None:
        out["id"] = request.id
    out["outputs"] = [tensors[name] for name in request.outputs]
    return out
