"""Realistic load for ``POST /predict``: single tweets, small batches (2-16 texts) and mixed lengths drawn from
the shared SemEval data, with an optional ramp or spike shape.

Run headless against a local server (bounded users and time), writing CSV stats and an HTML report::

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:3000 -u 32 -r 16 -t 60s \\
        --csv docs/loadtest --html docs/loadtest.html

or let ``sentiment-lab loadtest`` (``make loadtest``) start the server, run locust and summarise. Environment:

* ``LOCUST_SCENARIO``: ``mixed`` (default, fixed users), ``ramp`` (users climb to ``LOCUST_MAX_USERS`` over the
  run) or ``spike`` (a quarter of the users, then all of them for a fifth of the run, then a quarter again);
* ``LOCUST_MAX_USERS`` / ``LOCUST_RUN_TIME`` (seconds): bounds of the ramp and spike shapes;
* ``LOCUST_TEXTS_FILE``: where to write ``{"texts": N}``, the texts sent in successful requests (for texts/s);
* ``SENTIMENT_API_KEY``: sent as a bearer token when set.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import HttpUser, LoadTestShape, between, events, task

from service.core.paths import DATA_DIR
from service.core.semeval import folder_texts

FALLBACK = [
    "I love this phone, best purchase ever :)",
    "Worst customer service I have ever had.",
    "The meeting is moved to 3pm on Tuesday.",
]
MAX_USERS = max(1, min(256, int(os.environ.get("LOCUST_MAX_USERS", "32"))))
RUN_TIME = max(1, min(600, int(os.environ.get("LOCUST_RUN_TIME", "60"))))


def _load_texts(limit: int = 5000) -> list[str]:
    texts = folder_texts(DATA_DIR)
    random.Random(13).shuffle(texts)
    return texts[:limit] or FALLBACK


TEXTS = _load_texts()
SHORT = [t for t in TEXTS if len(t) < 60] or TEXTS
LONG = [t for t in TEXTS if len(t) >= 110] or TEXTS
sent_texts = 0


@events.request.add_listener
def _count_texts(request_type, name, response_time, response_length, exception=None, context=None, **kw) -> None:
    global sent_texts
    if exception is None and context:
        sent_texts += int(context.get("texts", 0))


@events.quitting.add_listener
def _write_texts(environment, **kw) -> None:
    path = os.environ.get("LOCUST_TEXTS_FILE")
    if path:
        Path(path).write_text(json.dumps({"texts": sent_texts}))


class TweetUser(HttpUser):
    wait_time = between(0.05, 0.3)  # think time of a client that scores tweets as they arrive

    def on_start(self) -> None:
        key = os.environ.get("SENTIMENT_API_KEY")
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def _post(self, texts: list[str], name: str) -> None:
        with self.client.post(
            "/predict",
            json={"texts": texts},
            headers=self.headers,
            name=name,
            context={"texts": len(texts)},
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
                return
            body = r.json()
            if not isinstance(body, list) or len(body) != len(texts):
                r.failure(f"expected {len(texts)} predictions, got {str(body)[:200]}")

    @task(6)
    def single_tweet(self) -> None:
        self._post([random.choice(TEXTS)], "/predict [1 text]")

    @task(3)
    def small_batch(self) -> None:
        self._post(random.sample(TEXTS, random.randint(2, 16)), "/predict [2-16 texts]")

    @task(1)
    def mixed_lengths(self) -> None:
        n = random.randint(2, 8)
        self._post(random.sample(SHORT, n) + random.sample(LONG, n), "/predict [mixed lengths]")


def ramp_users(t: float) -> int:
    """Users climb linearly from 1 to LOCUST_MAX_USERS over the first 80% of the run, then hold."""
    return max(1, round(MAX_USERS * min(1.0, t / (0.8 * RUN_TIME))))


def spike_users(t: float) -> int:
    """A quarter of the users; all of them, started at once, from 40% to 60% of the run; a quarter again."""
    return MAX_USERS if 0.4 * RUN_TIME <= t < 0.6 * RUN_TIME else max(1, MAX_USERS // 4)


USERS_AT = {"ramp": ramp_users, "spike": spike_users}.get(os.environ.get("LOCUST_SCENARIO", "mixed"))

if USERS_AT is not None:  # "mixed": no shape, locust's fixed -u users

    class ScenarioShape(LoadTestShape):
        """The users of LOCUST_SCENARIO at each second of the run (spawned at MAX_USERS per second)."""

        def tick(self) -> tuple[int, float] | None:
            t = self.get_run_time()
            return None if t >= RUN_TIME else (USERS_AT(t), float(MAX_USERS))
