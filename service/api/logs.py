"""JSON logs: one object per line on stderr for the service's own loggers (access, error, service) and for
BentoML's and uvicorn's, and the access-log line of one request."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

access_log = logging.getLogger("sentiment.access")
error_log = logging.getLogger("sentiment.error")
service_log = logging.getLogger("sentiment.service")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message and the record's ``fields`` extra."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_json_logging() -> None:
    """Our loggers write JSON lines to stderr; BentoML's and uvicorn's loggers are switched to JSON too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for lg in (access_log, error_log, service_log):
        lg.handlers[:] = [handler]
        lg.setLevel(logging.INFO)
        lg.propagate = False
    for name in ("", "bentoml", "uvicorn", "uvicorn.error"):
        for h in logging.getLogger(name).handlers:
            h.setFormatter(JsonFormatter())


def log_request(info: dict[str, Any], access: bool = True) -> None:
    """The access line of one request (`info` from the middleware; unless `access` is off), and an error line for a
    5xx in any case."""
    if access:
        access_log.info("", extra={"fields": {"event": "access", **info}})
    if info["status"] >= 500:
        keys = ("request_id", "method", "path", "status")
        error_log.error("", extra={"fields": {"event": "error", **{k: info[k] for k in keys}}})
