"""The prometheus_client internals behind service/api/prometheus_adapter.py: present in the installed library, and
bulk histogram updates give exactly what one observe() per value gives."""

import numpy as np
import prometheus_client as pc

from service.api.prometheus_adapter import has_bucket_internals, observe_many


def samples(reg: pc.CollectorRegistry, name: str) -> dict:
    return {
        (s.name, s.labels.get("le")): s.value
        for mf in reg.collect()
        if mf.name == name
        for s in mf.samples
        if not s.name.endswith("_created")  # a timestamp
    }


def test_observe_many_equals_observe_loop():
    values = np.array([0.0, 0.4, 0.41, 0.5, 0.95, 0.999, 1.0, 5.0, 0.5])
    reg_a, reg_b = pc.CollectorRegistry(), pc.CollectorRegistry()
    a = pc.Histogram("h", "h", buckets=(0.4, 0.5, 0.95, 1.0), registry=reg_a)
    b = pc.Histogram("h", "h", buckets=(0.4, 0.5, 0.95, 1.0), registry=reg_b)
    observe_many(a, values)
    for v in values.tolist():
        b.observe(v)
    assert samples(reg_a, "h") == samples(reg_b, "h")
    assert samples(reg_a, "h")[("h_bucket", "0.5")] == 5


def test_the_installed_prometheus_client_still_has_the_bucket_internals():
    """Fails loudly when a prometheus_client upgrade renames Histogram._buckets/_sum/_upper_bounds (the bulk path
    would silently fall back to one write per value)."""
    h = pc.Histogram("x", "x", buckets=(1.0, 2.0), registry=pc.CollectorRegistry())
    assert has_bucket_internals(h)
    assert len(h._upper_bounds) == 3 and h._upper_bounds[-1] == float("inf")
