"""The steps one inference request has taken, timed, answered as a ``Server-Timing`` header (W3C Server Timing).

Each step of the route (service/api/middleware.py, `ServiceMiddleware.predict_route`) calls `done` as it ends;
the batcher's two steps (the wait in the queue, the model call) come from the answer it returns (`took`). The
header names the steps in the order the request took them, each with its duration in milliseconds, e.g.::

    Server-Timing: dispatch;dur=0.007, admit;dur=0.007, limit;dur=0.013, read;dur=0.007, parse;dur=0.021,
                   queue;dur=15.842, model;dur=110.365, answer;dur=1.361

(a request of 1-17 texts among 16 concurrent clients, models/default, 2 cores shared with other work).

The durations add up to the time from the request's arrival in the ASGI layer to the header (what follows it,
the body's send, the access-log line and the span, is not in it). Cost: one ``perf_counter`` reading per step
and one short string per answer.
"""

from __future__ import annotations

import time


class Steps:
    __slots__ = ("_ms", "_names", "last")

    def __init__(self, t0: float) -> None:
        self.last = t0  # time.perf_counter() when the previous step ended (the request's arrival at first)
        self._names: list[str] = []
        self._ms: list[float] = []

    def done(self, name: str) -> None:
        """Step `name` ends now: it lasted since the previous one ended."""
        now = time.perf_counter()
        self._names.append(name)
        self._ms.append((now - self.last) * 1000)
        self.last = now

    def took(self, name: str, seconds: float) -> None:
        """Step `name`, timed elsewhere (by the batcher), ended `seconds` after the previous one."""
        self._names.append(name)
        self._ms.append(seconds * 1000)
        self.last += seconds

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def header(self) -> tuple[bytes, bytes]:
        """The ``Server-Timing`` response header of the steps so far."""
        value = ", ".join(f"{n};dur={ms:.3f}" for n, ms in zip(self._names, self._ms, strict=True))
        return b"server-timing", value.encode()
