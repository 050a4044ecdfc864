"""The Open Inference Protocol (V2) REST routes against a real server, called by clients nobody here wrote:
Triton's ``tritonclient.http`` and KServe's SDK ``InferenceRESTClient`` (pinned in pyproject's dev extras)."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from service.api import v2
from service.api.openapi_v2 import v2_schemas
from service.api.validation import RequestError
from service.core.paths import DATA_DIR
from service.core.semeval import read_semeval

HELD_OUT = DATA_DIR / "twitter-2016test-A.tsv"


@pytest.fixture(scope="module")
def tweets() -> list[str]:
    """64 held-out tweets (the SemEval 2016 test set: never seen in training)."""
    return [r.text for r in itertools.islice(read_semeval(HELD_OUT), 64) if r.text]


@pytest.fixture(scope="module")
def model(tiny_server: str) -> dict:
    return httpx.get(f"{tiny_server}/model").json()


@pytest.fixture(scope="module")
def expected(tiny_server: str, tweets: list[str]) -> list[dict]:
    r = httpx.post(f"{tiny_server}/predict", json={"texts": tweets}, timeout=30)
    assert r.status_code == 200
    return r.json()


def assert_same_as_predict(labels: list[str], scores: np.ndarray, expected: list[dict], classes: list[str]) -> None:
    assert scores.shape == (len(expected), len(classes)) and scores.dtype == np.float32
    assert labels == [row["label"] for row in expected]
    want = np.array([[row["scores"][c] for c in classes] for row in expected])  # (N, C)
    assert np.abs(scores.astype(np.float64) - want).max() <= 1e-6


@pytest.mark.slow
def test_tritonclient_gets_the_answers_of_predict(tiny_server, model, tweets, expected):
    import tritonclient.http as triton

    client = triton.InferenceServerClient(tiny_server.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(model["name"]) and client.is_model_ready(model["name"], model["version"])
    meta = client.get_model_metadata(model["name"])
    assert meta["versions"] == [model["version"]]
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    scores_meta = {o["name"]: o for o in meta["outputs"]}["scores"]
    classes = scores_meta["parameters"]["classes"]
    assert classes == model["labels"] and scores_meta["datatype"] == "FP32"
    text = triton.InferInput("text", [len(tweets)], "BYTES")
    text.set_data_from_numpy(np.array(tweets, dtype=np.object_), binary_data=False)
    result = client.infer(model["name"], [text])  # outputs not named: the client asks for binary, gets JSON
    labels = [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("label").tolist()]
    assert_same_as_predict(labels, result.as_numpy("scores"), expected, classes)
    versioned = client.infer(model["name"], [text], model_version=model["version"], request_id="req-7")
    assert versioned.get_response()["id"] == "req-7"
    client.close()


@pytest.mark.slow
def test_kserve_client_gets_the_answers_of_predict(tiny_server, model, tweets, expected):
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

    async def run() -> tuple[bool, bool, bool, object]:
        async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=30)) as client:
            live = await client.is_server_live(tiny_server)
            ready = await client.is_server_ready(tiny_server)
            model_ready = await client.is_model_ready(tiny_server, model["name"])
            text = InferInput("text", [len(tweets)], "BYTES", tweets)
            answer = await client.infer(tiny_server, InferRequest(model["name"], [text]), model_name=model["name"])
            return live, ready, model_ready, answer

    live, ready, model_ready, answer = asyncio.run(run())  # this client has no metadata call: classes from /v2
    assert live and ready and model_ready
    meta = httpx.get(f"{tiny_server}/v2/models/{model['name']}").json()
    classes = {o["name"]: o for o in meta["outputs"]}["scores"]["parameters"]["classes"]
    assert answer.model_name == model["name"]
    outputs = {o.name: o for o in answer.outputs}
    labels = [x.decode() if isinstance(x, bytes) else x for x in outputs["label"].as_numpy().tolist()]
    assert_same_as_predict(labels, outputs["scores"].as_numpy(), expected, classes)


def infer(url: str, body: object, model_name: str, **kw: object) -> httpx.Response:
    return httpx.post(f"{url}/v2/models/{model_name}/infer", json=body, timeout=30, **kw)


def tensor(data: object, shape: object = None, datatype: str = "BYTES", name: str = "text") -> dict:
    shape = [len(data)] if shape is None and isinstance(data, list) else shape
    return {"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}]}


@pytest.mark.slow
def test_bad_inputs_are_4xx_in_the_protocol_error_shape(tiny_server, model):
    name = model["name"]
    long_text = "x" * 2001
    cases = {
        "wrong datatype": (tensor([1.5, 2.5], datatype="FP32"), name, 400, "datatype"),
        "wrong shape": (tensor(["a", "b"], shape=[3]), name, 400, "shape"),
        "two dimensions": (tensor(["a", "b"], shape=[1, 2]), name, 400, "shape"),
        "unknown input": (tensor(["a"], name="texts"), name, 400, "unknown input"),
        "empty data": (tensor([]), name, 400, "1 to 256"),
        "no inputs": ({"inputs": []}, name, 400, "exactly one tensor"),
        "too many texts": (tensor(["a"] * 257), name, 400, "limit is 256"),
        "text too long": (tensor([long_text]), name, 400, "limit is 2000"),
        "not a string": (tensor(["a", 3]), name, 400, "data[1]"),
        "unknown output": ({**tensor(["a"]), "outputs": [{"name": "probs"}]}, name, 400, "unknown output"),
        "unknown model": (tensor(["a"]), "nope", 404, "unknown model"),
    }
    for case, (body, model_name, status, words) in cases.items():
        r = infer(tiny_server, body, model_name)
        assert r.status_code == status, (case, r.text)
        assert set(r.json()) <= {"error", "field", "request_id"} and words in r.json()["error"], (case, r.json())
    r = httpx.post(f"{tiny_server}/v2/models/{name}/versions/v0/infer", json=tensor(["a"]))
    assert r.status_code == 404 and "unknown version" in r.json()["error"]
    assert httpx.get(f"{tiny_server}/v2/models/nope").status_code == 404
    assert httpx.get(f"{tiny_server}/v2/models/{name}/versions/v0/ready").status_code == 404
    oversize = httpx.post(f"{tiny_server}/v2/models/{name}/infer", content=b"[" + b" " * 1_100_000 + b"]", timeout=30)
    assert oversize.status_code == 413 and "limit" in oversize.json()["error"]
    binary = httpx.post(
        f"{tiny_server}/v2/models/{name}/infer",
        content=b'{"inputs": []}\x00\x00',
        headers={"Inference-Header-Content-Length": "14", "Content-Type": "application/octet-stream"},
    )
    assert binary.status_code == 415 and "binary tensor data" in binary.json()["error"]
    get = httpx.get(f"{tiny_server}/v2/models/{name}/infer")
    assert get.status_code == 405 and get.headers["allow"] == "POST"


@pytest.mark.slow
def test_requested_outputs_and_id(tiny_server, model):
    body = {"id": "abc", **tensor(["I love it", "awful"]), "outputs": [{"name": "scores"}]}
    r = infer(tiny_server, body, model["name"])
    answer = r.json()
    assert r.status_code == 200 and answer["id"] == "abc" and answer["model_version"] == model["version"]
    assert [o["name"] for o in answer["outputs"]] == ["scores"] and answer["outputs"][0]["shape"] == [2, 3]


@pytest.fixture(scope="module")
def keyed_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import running_server

    log = tmp_path_factory.mktemp("keyed") / "server.log"
    with running_server(tiny_model, "--workers", "1", env={"SENTIMENT_API_KEY": "k3y"}, log_path=log) as url:
        yield url, log


@pytest.mark.slow
def test_api_key_metrics_and_access_log_are_those_of_predict(keyed_server):
    keyed_server, log = keyed_server
    r = httpx.get(f"{keyed_server}/model", headers={"Authorization": "Bearer k3y"})
    name = r.json()["name"]
    assert httpx.get(f"{keyed_server}/v2/health/ready").status_code == 200  # probes need no key
    assert httpx.get(f"{keyed_server}/v2/models/{name}").status_code == 401
    assert infer(keyed_server, tensor(["a"]), name).status_code == 401
    ok = infer(keyed_server, tensor(["good", "bad", "ok"]), name, headers={"X-API-Key": "k3y"})
    assert ok.status_code == 200
    metrics = httpx.get(f"{keyed_server}/metrics").text
    rejected = [line for line in metrics.splitlines() if line.startswith("sentiment_rejected_requests_total{")]
    assert any('status="401"' in line and 'reason="unauthorized"' in line for line in rejected)
    batch_count = [line for line in metrics.splitlines() if line.startswith("sentiment_batch_size_count")]
    assert batch_count and float(batch_count[0].split()[-1]) >= 1  # the warm-up is not counted: the V2 batch is
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [x for x in lines if x.get("event") == "access" and x["path"] == f"/v2/models/{name}/infer"]
    assert [(x["status"], x.get("n_texts"), x.get("reason")) for x in access] == [
        (401, None, "unauthorized"),
        (200, 3, None),
    ]
    assert all(x["request_id"] for x in access)


# -- the protocol's vocabulary, without a server ------------------------------------------------------------------

INFO = {"name": "m", "version": "1", "labels": ["negative", "neutral", "positive"]}


def test_routes() -> None:
    assert v2.route("/v2") == v2.Route("server")
    assert v2.route("/v2/health/ready") == v2.Route("ready")
    assert v2.route("/v2/models/m") == v2.Route("model", "m")
    assert v2.route("/v2/models/m/versions/1/infer") == v2.Route("infer", "m", "1")
    assert v2.route("/v2/models/m/ready") == v2.Route("model_ready", "m")
    for path in ("/v2/", "/v2/models", "/v2/models/m/explain", "/v2/models/m/versions/1/2"):
        assert v2.route(path) is None, path
    with pytest.raises(RequestError, match="unknown version '2'") as e:
        v2.check_model(v2.Route("model", "m", "2"), INFO)
    assert e.value.status == 404


def body(**tensor: object) -> bytes:
    return json.dumps(
        {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a", "b"], **tensor}]}
    ).encode()


def test_parse_and_answer() -> None:
    request = v2.parse_infer(body(), 256, 2000)
    assert request.texts == ["a", "b"] and request.outputs == ("label", "scores") and request.id is None
    rows = [{"label": "positive", "scores": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}}] * 2
    answer = v2.infer_response(request, rows, INFO)
    assert answer["outputs"][1] == {
        "name": "scores", "datatype": "FP32", "shape": [2, 3], "data": [0.1, 0.2, 0.7, 0.1, 0.2, 0.7]
    }  # fmt: skip
    assert v2.model_metadata(INFO)["outputs"][1]["parameters"]["classes"] == INFO["labels"]


@pytest.mark.parametrize(
    ("tensor", "words"),
    [
        ({"shape": [True, 1]}, "shape"),
        ({"shape": [2.0]}, "shape"),
        ({"datatype": "INT64"}, "datatype"),
        ({"data": "ab"}, "1 to 256 strings"),
        ({"data": ["a", "\u0000"], "shape": [2]}, "NUL"),
        ({"parameters": {"binary_data_size": 4}}, "binary tensor data"),
        ({"extra": 1}, "unknown field 'extra'"),
    ],
)
def test_parse_refuses(tensor: dict, words: str) -> None:
    with pytest.raises(RequestError, match=words) as e:
        v2.parse_infer(body(**tensor), 256, 2000)
    assert 400 <= e.value.status < 500


def test_parse_refuses_a_null_id() -> None:
    with pytest.raises(RequestError, match="id: expected a string, got null"):
        v2.parse_infer(json.dumps({"id": None, **json.loads(body())}).encode(), 256, 2000)


def test_the_documented_example_is_what_the_parser_accepts() -> None:
    import jsonschema

    schemas = v2_schemas(256, 2000)
    example = schemas["V2TextTensor"]["example"]
    request = {"inputs": [example]}
    resolver = {"$ref": "#/components/schemas/V2InferenceRequest", "components": {"schemas": schemas}}
    jsonschema.validate(request, resolver)
    assert v2.parse_infer(json.dumps(request).encode(), 256, 2000).texts == example["data"]
    with pytest.raises(jsonschema.ValidationError):  # the schema is closed, as the parser is
        jsonschema.validate({**request, "extra": 1}, resolver)
