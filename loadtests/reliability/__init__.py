"""Reliability and security proof layer: reusable scenarios that attack a real `sentiment serve` on 127.0.0.1.

Each module is one family of scenarios and returns plain figures (counts, seconds, bytes) that the tests
assert on and `sentiment-lab reliability` writes to ``build/reliability.md`` (docs/reliability.md: the cited run):

* `rawhttp`   - a raw-socket HTTP/1.1 client (invalid UTF-8, wrong methods, chunked or truncated bodies);
* `server`    - start/stop a real server on a free port and inspect its process tree;
* `badinput`  - the bad-input corpus (hand-written + hypothesis-generated) and its runner;
* `schema`    - schemathesis against the service's own OpenAPI (``/docs.json``);
* `overload`  - saturation ramp, then an open-loop run at a multiple of it;
* `faults`    - SIGKILL of a worker, SIGTERM drain, batch kill + resume, unwritable / full output;
* `integrity` - tampered, mismatched and pickled model directories;
* `security`  - API key, exposed endpoints, size limits before parsing, dependency audit, container user;
* `report`    - the markdown/JSON report.

Dev-only: it needs the ``dev`` extra (hypothesis, schemathesis) and is never imported by the service itself.
"""
