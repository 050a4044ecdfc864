"""The raw ASGI ceiling: a bare Starlette app on uvicorn with the same ``POST /predict`` contract that parses the
JSON body and answers a fixed prediction per text (no model, no BentoML).

``python -m loadtests.bench.echo_app --port 3001``
"""

from __future__ import annotations

import argparse
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

FIXED = json.dumps({"label": "neutral", "scores": {"negative": 0.2, "neutral": 0.6, "positive": 0.2}})


async def predict(request: Request) -> Response:
    texts = json.loads(await request.body())["texts"]
    return Response("[" + ",".join([FIXED] * len(texts)) + "]", media_type="application/json")


async def readyz(request: Request) -> Response:
    return Response("ok")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/readyz", readyz)])


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3001)
    p.add_argument("--http", default="auto", help="uvicorn HTTP parser: auto | h11 | httptools")
    a = p.parse_args()
    uvicorn.run(app, host=a.host, port=a.port, http=a.http, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
