"""A raw-socket HTTP/1.1 client: sends exactly the bytes given (invalid UTF-8, wrong methods, wrong or missing
lengths, chunked bodies, bodies sent slowly or never finished), so nothing in between repairs the request."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class RawResponse:
    status: int | None  # None: no parsable status line (connection closed, reset or timed out)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0
    error: str | None = None  # what went wrong on the client side, if anything

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def build_request(
    method: str,
    path: str,
    host: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    content_length: int | None = None,
    chunked: bool = False,
) -> bytes:
    """One HTTP/1.1 request. `content_length` overrides the real length (to lie about it); `chunked` sends the body
    as one chunk with ``Transfer-Encoding: chunked`` and no length."""
    hdrs = {"Host": host, "Connection": "close", "User-Agent": "sentiment-reliability"}
    hdrs.update(headers or {})
    payload = body or b""
    if chunked:
        hdrs["Transfer-Encoding"] = "chunked"
        payload = (f"{len(payload):x}\r\n".encode() + payload + b"\r\n" if payload else b"") + b"0\r\n\r\n"
    elif (body is not None or content_length is not None) and "content-length" not in {k.lower() for k in hdrs}:
        hdrs["Content-Length"] = str(len(payload) if content_length is None else content_length)
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    return head.encode("latin-1") + payload


def _parse(data: bytes) -> tuple[int | None, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, {}, data
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return status, headers, body


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            return out + data
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def send(
    host: str,
    port: int,
    parts: bytes | Iterable[bytes],
    *,
    timeout: float = 10.0,
    pause: float = 0.0,
    max_response: int = 1 << 20,
) -> RawResponse:
    """Send `parts` (one bytes, or pieces with `pause` seconds between them), then read until the server closes
    the connection or `timeout` passes overall. Never raises for network errors: they go to `error`."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    chunks = [parts] if isinstance(parts, bytes) else list(parts)
    data = b""
    error = None
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            for i, chunk in enumerate(chunks):
                if i and pause:
                    time.sleep(pause)
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    s.sendall(chunk)
                except (BrokenPipeError, ConnectionResetError) as e:
                    error = f"send: {type(e).__name__}"  # the server may have answered early (413) and closed
                    break
            while len(data) < max_response:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    error = error or "timeout"
                    break
                s.settimeout(remaining)
                try:
                    got = s.recv(65536)
                except TimeoutError:
                    error = error or "timeout"
                    break
                except ConnectionResetError:
                    error = error or "reset"
                    break
                if not got:
                    break
                data += got
                if _complete(data):
                    break
    except OSError as e:
        error = f"{type(e).__name__}: {e}"
    status, headers, body = _parse(data) if data else (None, {}, b"")
    return RawResponse(status, headers, body, time.monotonic() - t0, error if status is None else None)


def _complete(data: bytes) -> bool:
    """True once a full response with a Content-Length (or a final chunk) is in `data`."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    lower = head.lower()
    for line in lower.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            try:
                return len(body) >= int(line.split(b":", 1)[1])
            except ValueError:
                return False
    if b"transfer-encoding: chunked" in lower:
        return body.endswith(b"0\r\n\r\n")
    return False


def request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = 10.0,
    **kw: object,
) -> RawResponse:
    raw = build_request(method, path, f"{host}:{port}", body, headers, **kw)  # type: ignore[arg-type]
    return send(host, port, raw, timeout=timeout)
