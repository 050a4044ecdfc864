"""The ratios of one `sentiment-lab bench` run (the goals of docs/benchmarks.md), and the side-by-side comparison:
the project, ``--no-batching`` and the hand-written Starlette peer against the model limit, for 1-, 16- and
64-text requests."""

from __future__ import annotations

from typing import Any

KINDS = {"single": 1, "mid": 16, "multi": 64}  # request kind -> texts per request
SIDE_BY_SIDE = ("served-batching", "served-no-batching", "starlette-peer")
PEER = "starlette-peer"


def best(http: dict[str, Any], name: str, kind: str = "single", key: str = "rps") -> float:
    """The best `key` of the runs of server `name` with `kind` requests (0 when it was not run)."""
    return max((r[key] for r in http.get(name, {}).get(kind, [])), default=0.0)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if a and b else None


def side_by_side(res: dict[str, Any]) -> dict[str, Any]:
    """Best texts/s per server and request kind, as fractions of the model limit and of the peer."""
    http, limit = res["http"], res["model_limit"]["texts_per_s"]
    rows: dict[str, Any] = {}
    for name in SIDE_BY_SIDE:
        if name not in http:
            continue
        rows[name] = {}
        for kind in KINDS:
            t = best(http, name, kind, "texts_per_s")
            rows[name][kind] = {
                "texts_per_s": t,
                "vs_limit": _ratio(t, limit),
                "vs_peer": _ratio(t, best(http, PEER, kind, "texts_per_s")),
            }
    return {"limit_texts_per_s": limit, "rows": rows, "offline_vs_limit": _ratio(res["offline"]["texts_per_s"], limit)}


def issue_goals(res: dict[str, Any]) -> dict[str, Any]:
    sbs = side_by_side(res)
    served = sbs["rows"].get("served-batching", {})

    def get(kind: str, key: str) -> float | None:
        return served.get(kind, {}).get(key)

    return {
        "served_multi_vs_limit": get("multi", "vs_limit"),
        "served_multi_vs_peer": get("multi", "vs_peer"),
        "served_single_vs_limit": get("single", "vs_limit"),
        "served_single_vs_peer": get("single", "vs_peer"),
        "offline_vs_limit": sbs["offline_vs_limit"],
        "side_by_side": sbs,
    }


def ratios(res: dict[str, Any]) -> dict[str, Any]:
    http = res["http"]

    def top(name: str, kind: str = "single", key: str = "rps") -> float:
        return best(http, name, kind, key)

    half = http["served-batching"]["half_saturation"]
    below_sat = [r for r in http["served-batching"]["single"] if r["rps"] < 0.95 * top("served-batching")]
    out: dict[str, Any] = {}
    if "served-int8" in http:
        int8_half = http["served-int8"]["half_saturation"]
        out["int8"] = {
            "served_vs_echo_rps": round(top("served-int8") / top("starlette-echo"), 3),
            "served_multi_vs_offline_texts": round(
                top("served-int8", "multi", "texts_per_s") / res["offline_int8"]["texts_per_s"], 3
            ),
            "served_int8_vs_fp32_rps": round(top("served-int8") / top("served-batching"), 3),
            "p99_ms_at_half_saturation": int8_half["p99_ms"],
            "half_saturation_rate": int8_half["target_rate"],
        }
    return (
        out
        | issue_goals(res)
        | {
            "served_vs_echo_rps": round(top("served-batching") / top("starlette-echo"), 3),
            "served_multi_vs_offline_texts": round(
                top("served-batching", "multi", "texts_per_s") / res["offline"]["texts_per_s"], 3
            ),
            "batching_vs_no_batching_rps": round(top("served-batching") / top("served-no-batching"), 3),
            "served_multi_vs_offline_same_threads": round(
                top("served-batching", "multi", "texts_per_s") / res["offline_service_threads"]["texts_per_s"], 3
            )
            if "offline_service_threads" in res
            else None,
            "noop_vs_echo_rps": round(top("bentoml-noop") / top("starlette-echo"), 3),
            "noop_fast_vs_echo_rps": round(top("noop-fast-path") / top("starlette-echo"), 3)
            if "noop-fast-path" in http
            else None,
            "served_vs_noop_fast_rps": round(top("served-batching") / top("noop-fast-path"), 3)
            if "noop-fast-path" in http
            else None,
            "served_rps": top("served-batching"),
            "echo_rps": top("starlette-echo"),
            "p99_ms_at_half_saturation": half["p99_ms"],
            "half_saturation_rate": half["target_rate"],
            "errors_at_half_saturation": half["non_200"] + half["connection_errors"],
            "non_200_below_saturation": sum(r["non_200"] for r in below_sat),
        }
    )
