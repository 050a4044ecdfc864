"""The one server launcher, with a real (standard-library) HTTP server standing in for `sentiment serve`: free
ports, readiness, and stopping the whole process group. (`sentiment serve` itself through it: every server test.)"""

import subprocess
import sys
import time
import urllib.request

import pytest

from service.api.launcher import free_port, launched, serve_command, stop_group, wait_ready

READY_SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_free_port_is_bindable_and_serve_command_names_the_flags():
    port = free_port()
    assert 1024 <= port <= 65535
    cmd = serve_command("models/x", port, "--workers", "1")
    assert cmd[1:] == ["-m", "service.cli", "serve", "--model", "models/x", "--port", str(port), "--workers", "1"]


def test_launched_waits_for_readyz_then_stops_the_group():
    with launched(lambda port: [sys.executable, "-c", READY_SERVER, str(port)], ready_timeout=30) as s:
        assert s.url == f"http://127.0.0.1:{s.port}" and s.start_s > 0 and s.pid == s.proc.pid
        with urllib.request.urlopen(s.url + "/readyz", timeout=5) as r:
            assert r.status == 200
    assert s.proc.poll() is not None  # stopped on leaving


def test_a_server_that_exits_or_never_answers_is_reported():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with pytest.raises(RuntimeError, match="exited with 0 before it was ready"):
        wait_ready(f"http://127.0.0.1:{free_port()}", dead, timeout=10)
    with pytest.raises(TimeoutError, match="not ready after"):
        wait_ready(f"http://127.0.0.1:{free_port()}", None, timeout=0.3)


def test_stop_group_kills_what_ignores_sigterm():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"up\n"
    t0 = time.monotonic()
    assert stop_group(proc, grace=0.5) == -9  # SIGKILL after the grace period
    assert time.monotonic() - t0 < 10
    proc.stdout.close()
