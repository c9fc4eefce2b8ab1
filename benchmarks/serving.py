"""Start a server process on a free local port and wait until it answers, hand a sample request's files over as
a client does, and build the tiny models to serve: shared by the tests, the load test and the benchmark."""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def map_files(value, convert):
    """`value` with every Path in it, at any depth (a sketchpad's {"composite": Path}), replaced by
    convert(path): an endpoint's sample inputs as a client sends them."""
    if isinstance(value, Path):
        return convert(value)
    if isinstance(value, dict):
        return {key: map_files(item, convert) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map_files(item, convert) for item in value)
    return value


def build_tiny_models(directory: Path) -> dict[str, str]:
    """Every task's tiny model (tests/tiny_models.py), but a CTC one for speech: the tiny random Whisper's text
    is noise, which sets off the decoding's fallback at every temperature on every request, as no real model
    does on a clean clip."""
    import demos
    from tiny_media_models import make_wav2vec2_ctc_model
    from tiny_models import tiny_source

    sampled = {endpoint.task for tab in demos.TABS for endpoint in tab.ENDPOINTS if endpoint.sample}
    models = {task: tiny_source(task, directory / task) for task in sampled if task != "speech_to_text"}
    return {**models, "speech_to_text": str(make_wav2vec2_ctc_model(directory / "speech_to_text"))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(command: list[str], port: int, timeout: float = 120, env: dict | None = None
          ) -> tuple[subprocess.Popen, float]:
    """Run `command` (which listens on `port`) from the repository root, in `env` (default: this process's);
    returns the process once http://127.0.0.1:port/ answers, and how many seconds that took."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
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
