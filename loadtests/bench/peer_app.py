"""The hand-written peer: the same `Predictor` behind a plain Starlette ``POST /predict`` on uvicorn, one model call
per request in Starlette's thread pool, no batching, no validation beyond the JSON shape, 1 intra-op thread per call
(concurrent requests are concurrent model calls, one per core). What a user could write in an afternoon: the
project has to beat it to be worth its machinery.

``python -m loadtests.bench.peer_app --model models/default --port 3002``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def make_app(model: Path, threads: int = 1) -> Starlette:
    import torch

    from service.core.artifact import load_artifact
    from service.core.predictor import Predictor

    torch.set_num_threads(threads)
    predictor = Predictor(load_artifact(model, "cpu"))
    predictor.predict(["warm-up", "the model is loaded"])

    def score(texts: list[str]) -> list[dict[str, Any]]:
        return predictor.to_rows(predictor.predict_proba(texts))

    async def predict(request: Request) -> Response:
        body = json.loads(await request.body())
        texts = body.get("texts") if isinstance(body, dict) else None
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
            return Response('{"error": "texts must be a non-empty list of non-empty strings"}', status_code=400)
        rows = await run_in_threadpool(score, texts)
        return Response(json.dumps(rows), media_type="application/json")

    async def readyz(request: Request) -> Response:
        return Response("ok")

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/readyz", readyz)])


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser(description="Serve the model behind a plain Starlette endpoint (the bench's peer).")
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--host", default="127.0.0.1", help="bind address")
    p.add_argument("--port", type=int, default=3002, help="port")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (per call; default 1)")
    a = p.parse_args()
    app = make_app(Path(a.model), a.threads)
    uvicorn.run(app, host=a.host, port=a.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
