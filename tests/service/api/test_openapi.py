"""GET /docs.json: BentoML's document (here from a real inner ASGI app) patched with what the ASGI layer adds."""

import json

from service.api.openapi import API_PATHS, ERRORS, patch, serve_docs
from tests.service.api.asgi_driver import call

BODY = {"content": {"application/json": {"schema": {"type": "object"}}}}
OK = {"200": {"description": "ok"}}
BENTO_SPEC = {
    "openapi": "3.0.2",
    "paths": {"/explain": {"post": {"responses": OK, "requestBody": BODY}}, "/livez": {"get": {"responses": OK}}},
}


def spec() -> dict:
    return json.loads(json.dumps(BENTO_SPEC))


async def bentoml_docs(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(spec()).encode()})


async def broken_docs(scope, receive, send):
    await send({"type": "http.response.start", "status": 500, "headers": []})
    await send({"type": "http.response.body", "body": b"oops"})


def test_patch_adds_predict_model_the_error_answers_and_closed_required_bodies():
    out = patch(spec(), None, 7, 99)
    assert "get" in out["paths"]["/model"]
    for path in API_PATHS:  # /predict is the middleware's (BentoML's document lacks it), /explain BentoML's
        post = out["paths"][path]["post"]
        assert set(ERRORS) <= set(post["responses"]) and "200" in post["responses"]
        assert post["requestBody"]["required"] is True
        assert post["requestBody"]["content"]["application/json"]["schema"]["additionalProperties"] is False
    texts = out["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert (texts["texts"]["maxItems"], texts["texts"]["items"]["maxLength"]) == (7, 99)  # the server's limits
    rows = out["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert rows["items"] == {"$ref": "#/components/schemas/Prediction"}
    assert {"ModelInfo", "ErrorResponse", "Prediction", "Scores"} <= set(out["components"]["schemas"])
    assert out["paths"]["/livez"] == BENTO_SPEC["paths"]["/livez"]
    assert API_PATHS == ("/predict", "/explain")


def serve(app):
    async def docs(scope, receive, send):
        await serve_docs(app, scope, receive, send, None, (256, 2000))

    return docs


def test_serve_docs_answers_the_patched_document_or_a_json_error():
    r = call(serve(bentoml_docs), "GET", "/docs.json", None, [])
    assert r.status == 200 and r.json() == patch(spec())
    r = call(serve(broken_docs), "GET", "/docs.json", None, [])
    assert r.status == 500 and r.json() == {"error": "could not build the OpenAPI spec"}
