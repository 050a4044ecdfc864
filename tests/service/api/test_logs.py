"""JSON logs: one object per line with the record's fields, and the access/error lines of a request."""

import json
import logging

from service.api.logs import JsonFormatter, log_request


def record(msg: str = "", fields=None, exc=None) -> logging.LogRecord:
    r = logging.LogRecord("sentiment.service", logging.WARNING, __file__, 1, msg, (), exc)
    if fields is not None:
        r.fields = fields
    return r


def test_fields_become_the_json_object():
    line = json.loads(JsonFormatter().format(record(fields={"event": "model_loaded", "load_s": 1.5, "ü": "ö"})))
    assert line["event"] == "model_loaded" and line["load_s"] == 1.5 and line["ü"] == "ö"
    assert line["level"] == "warning" and line["logger"] == "sentiment.service" and line["ts"] > 0


def test_a_plain_message_and_an_exception():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = json.loads(JsonFormatter().format(record("hello %s", exc=sys.exc_info())))
    assert line["message"] == "hello %s" and "ValueError: boom" in line["exception"]


def test_a_5xx_writes_an_error_line_even_with_the_access_log_off(caplog):
    info = {"request_id": "r", "method": "POST", "path": "/predict", "status": 500, "ms": 3.0}
    with caplog.at_level(logging.INFO):
        log_request(info, access=False)
        log_request({**info, "status": 200}, access=False)
        log_request({**info, "status": 200}, access=True)
    got = [(r.name, r.fields["event"], r.fields["status"]) for r in caplog.records]
    assert got == [("sentiment.error", "error", 500), ("sentiment.access", "access", 200)]
