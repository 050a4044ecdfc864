"""The Server-Timing steps of one request (service/api/steps.py)."""

import time

from service.api.steps import Steps


def parse(value: bytes) -> list[tuple[str, float]]:
    out = []
    for entry in value.decode().split(", "):
        name, dur = entry.split(";dur=")
        out.append((name, float(dur)))
    return out


def test_steps_in_order_with_their_durations_adding_up_to_the_elapsed_time():
    t0 = time.perf_counter()
    steps = Steps(t0)
    time.sleep(0.01)
    steps.done("read")
    steps.took("queue", 0.002)  # timed by the batcher
    steps.took("model", 0.003)
    steps.done("answer")
    name, value = steps.header()
    entries = parse(value)
    assert name == b"server-timing" and steps.names == [n for n, _ in entries] == ["read", "queue", "model", "answer"]
    assert entries[0][1] >= 10 and entries[1][1] == 2.0 and entries[2][1] == 3.0
    assert abs(sum(ms for _, ms in entries) - (steps.last - t0) * 1000) < 0.01  # nothing counted twice or lost


def test_no_steps_no_entries():
    assert Steps(time.perf_counter()).header() == (b"server-timing", b"")
