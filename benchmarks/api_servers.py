"""Server subprocesses for ``api_load.py``: start, wait for ``/readyz``, always stop.

Each server's output goes to a log file (an unread pipe would fill and stall it under load).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


class SetupError(RuntimeError):
    """The servers or the registry could not be set up: nothing was measured."""


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports on 127.0.0.1 (held open together, so they differ)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind((HOST, 0))
        return [int(s.getsockname()[1]) for s in socks]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Status and body of one GET (errors included); connection errors propagate."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as err:
        return int(err.code), bytes(err.read())


class Server:
    """One server subprocess, its output in a log file; ``stop`` always kills it."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name, self.cmd, self.env, self.workdir = name, cmd, env, workdir
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used (Linux ``/proc``; None
        elsewhere or before it starts). One process: the servers run one worker."""
        if self.proc is None:
            return None
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start(self) -> None:
        with self.log.open("wb") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the benchmark, which stops it
            )

    def wait_ready(
        self, base: str, timeout: float, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The /readyz JSON once it is 200 (with a key in ``headers``, the served models);
        SetupError if the process dies, 503s or times out."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc is None or self.proc.poll() is not None:
                raise SetupError(f"{self.name} server exited early; see {self._tail()}")
            try:
                status, body = get(base + "/readyz", headers)
            except OSError:
                time.sleep(0.25)
                continue
            if status != 200:
                raise SetupError(f"{self.name} /readyz is {status}: {body.decode()[:500]}")
            ready: dict[str, Any] = json.loads(body)
            return ready
        raise SetupError(f"{self.name} server not ready after {timeout:.0f} s; see {self._tail()}")

    def _tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"{self.log}:\n" + "\n".join(text.splitlines()[-15:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def running(servers: list[Server]) -> Iterator[None]:
    """Stop every server on the way out, Ctrl-C and SIGTERM included."""
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        for server in servers:
            server.stop()
        signal.signal(signal.SIGTERM, previous)


def interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def hotspots_exe() -> str:
    exe = Path(sys.executable).with_name("hotspots")
    if not exe.exists():
        raise SetupError(f"the hotspots command is not installed beside {sys.executable}")
    return str(exe)
