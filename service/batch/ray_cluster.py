"""A real 2-node Ray cluster on this machine, kept on loopback: the fault tests and the scale bench of the Ray engine.

Ray turns 127.0.0.1 into the machine's routable address and talks to itself over it; inside a fresh network
namespace (``unshare -n``, then loopback up, as ``ip link set lo up`` does; needs root, as here and in CI) loopback
is the only interface, so every byte of the cluster's traffic stays on it. The namespace is held by a ``sleep``
process; every command runs in it through ``nsenter --net=/proc/PID/ns/net`` (util-linux). Token authentication is
on (``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN`` in every process's environment), as on a shared cluster. `stop`
SIGKILLs, by pid, every process in the namespace (the two nodes, their workers, a driver left behind), then the
holder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from service.core.paths import REPO

VENV_BIN = Path(sys.executable).parent
# SIOCGIFFLAGS / SIOCSIFFLAGS on "lo" with IFF_UP: what `ip link set lo up` does
LO_UP = (
    "import fcntl, socket, struct; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
    "f = struct.unpack('16sH', fcntl.ioctl(s, 0x8913, struct.pack('16sH', b'lo', 0)))[1]; "
    "fcntl.ioctl(s, 0x8914, struct.pack('16sH', b'lo', f | 1))"
)
HEAD_PORT = 6390
SECOND_NODE_PORT = 62001  # the second node's node-manager port: how its raylet is found


class RayCluster:
    def __init__(self, cpus_per_node: int = 2, pythonpath: Path = REPO) -> None:
        self.holder = subprocess.Popen(["unshare", "-n", "sleep", "3600"])
        self.temp = Path(tempfile.mkdtemp(prefix="rayf-", dir="/tmp"))  # short: Unix socket paths are limited
        self.ns = ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net"]
        self.netns = "?"  # set once the namespace exists
        self.address = f"127.0.0.1:{HEAD_PORT}"
        self.env = {
            **os.environ,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(16),
            "PYTHONPATH": str(pythonpath),  # the code the workers import
            "RAY_health_check_period_ms": "1000",  # a removed node is declared dead in seconds, not half a minute
            "RAY_health_check_failure_threshold": "3",
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        try:
            deadline = time.monotonic() + 10
            while not Path(f"/proc/{self.holder.pid}/ns/net").exists() or self._netns() == _netns_of(os.getpid()):
                if time.monotonic() > deadline:
                    raise RuntimeError("unshare -n did not start")
                time.sleep(0.05)
            self.netns = self._netns()  # "net:[inode]": the namespace outlives nothing we started
            self.run([sys.executable, "-c", LO_UP])  # `ip link set lo up`, without needing iproute2
            common = ["--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus_per_node), "--disable-usage-stats"]
            common += ["--object-store-memory", str(200 << 20)]
            self.run(
                [
                    str(VENV_BIN / "ray"),
                    "start",
                    "--head",
                    "--port",
                    str(HEAD_PORT),
                    "--include-dashboard",
                    "false",
                    "--temp-dir",
                    str(self.temp),
                    *common,
                ]
            )
            self.run(
                [
                    str(VENV_BIN / "ray"),
                    "start",
                    "--address",
                    self.address,
                    "--node-manager-port",
                    str(SECOND_NODE_PORT),
                    "--resources",
                    '{"second_node": 1}',
                    *common,
                ]
            )
        except BaseException:
            self.stop()
            raise

    def _netns(self) -> str:
        return _netns_of(self.holder.pid)

    def run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*self.ns, *argv], env=self.env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode:
            raise RuntimeError(f"{argv[:3]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return proc

    def popen(self, argv: list[str]) -> subprocess.Popen[str]:
        """A process in the namespace (nsenter execs it: the Popen's pid is the process's)."""
        return subprocess.Popen(
            [*self.ns, *argv], env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def pids(self) -> list[int]:
        """Every process in the cluster's namespace (but the holder)."""
        return [p for p in _all_pids() if p != self.holder.pid and _netns_of(p) == self.netns]

    def processes(self, title: str) -> list[int]:
        """Processes of the namespace whose command line starts with `title` (e.g. ``ray::ShardScorer``)."""
        return [p for p in self.pids() if _cmdline(p).startswith(title)]

    def second_node_pids(self) -> list[int]:
        """The second node's raylet and its children (workers, agents)."""
        raylets = [p for p in self.pids() if f"--node_manager_port={SECOND_NODE_PORT}" in _cmdline(p)]
        children = [p for p in self.pids() if _ppid(p) in raylets]
        return raylets + children

    def stop(self) -> None:
        deadline = time.monotonic() + 15
        while (left := self.pids()) and time.monotonic() < deadline:  # killed raylets' children die after them
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        self.holder.kill()
        self.holder.wait(10)
        shutil.rmtree(self.temp, ignore_errors=True)


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _netns_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return ""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def can_unshare() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("nsenter") is not None
