"""Start a server process on a free local port and wait until it answers: shared by the tests, the load
test and the benchmark."""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(command: list[str], port: int, timeout: float = 120) -> tuple[subprocess.Popen, float]:
    """Run `command` (which listens on `port`) from the repository root; returns the process once
    http://127.0.0.1:port/ answers, and how many seconds that took."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return process, time.perf_counter() - started
        except OSError:
            pass
        if process.poll() is not None or time.perf_counter() - started > timeout:
            process.kill()
            raise RuntimeError(f"{' '.join(command)} did not serve on port {port}")
        time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)
