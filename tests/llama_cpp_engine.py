"""llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on a GGUF of a tiny model, for tests.

The server lives in its own virtualenv, so that its fastapi/starlette/pydantic pins cannot disturb the app's;
tests talk to it over HTTP only. The GGUF is made with llama.cpp's own converter, run by the app's Python
(it needs torch and transformers, which that one has). To get both, on a fresh machine:

    python3.11 -m venv .venv-llama
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 \
        .venv-llama/bin/pip install --no-binary llama-cpp-python "llama-cpp-python[server]==0.3.36"
    pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d /tmp/llama-sdist
    tar xzf /tmp/llama-sdist/llama_cpp_python-0.3.36.tar.gz -C /tmp/llama-sdist
    export LLAMA_CPP_CONVERTER=/tmp/llama-sdist/llama_cpp_python-0.3.36/vendor/llama.cpp/convert_hf_to_gguf.py

The installed package does not ship the converter; the sdist does, next to the conversion/ package and the
gguf-py/ library it imports (so no gguf install is needed). LLAMA_SERVER_PYTHON overrides the server's Python.

Seen with llama-cpp-python 0.3.36: it can return a few more tokens than max_tokens (it skips that check while a
UTF-8 character is incomplete, which random byte-level tokens often are), and a generation that reaches n_ctx
fails ("llama_decode returned 1"; mid-stream, the stream just stops and the server hangs), so keep max_tokens well
under `ctx`. The tiny model's suppressed eos is not in the GGUF: pass logit_bias={"2": -100} to keep it going.
huggingface_hub refuses even 127.0.0.1 under HF_HUB_OFFLINE=1 (conftest sets it): patch
huggingface_hub.constants.HF_HUB_OFFLINE to False in such a test.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchmarks.serving import free_port

ROOT = Path(__file__).resolve().parent.parent
LLAMA_PYTHON = Path(os.environ.get("LLAMA_SERVER_PYTHON", ROOT / ".venv-llama" / "bin" / "python"))
CONVERTER = os.environ.get("LLAMA_CPP_CONVERTER")
START_TIMEOUT_S = 60
CONVERT_TIMEOUT_S = 300

# The converter names a BPE tokenizer's pre-tokenizer (its splitting regex) by hashing the ids of a test string,
# and refuses hashes it does not know: ours, trained here, is unknown. It is a plain ByteLevel pre-tokenizer, whose
# regex is exactly llama.cpp's "gpt-2" one, so that is the name we give. ("qwen2" and "default" happen to give the
# same ids for our 141-merge vocabulary too, but their regexes differ, e.g. on digits.) All else is the converter's.
_CONVERT_AS_GPT2 = """
import os, runpy, sys
converter = os.path.abspath(sys.argv[1])
sys.argv = [converter, *sys.argv[2:]]
sys.path.insert(0, os.path.dirname(converter))
if "NO_LOCAL_GGUF" not in os.environ:  # as the converter itself does: the gguf-py next to it
    sys.path.insert(1, os.path.join(os.path.dirname(converter), "gguf-py"))
import conversion.base
conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
runpy.run_path(converter, run_name="__main__")
"""


def engine_missing() -> str | None:
    """None when the server and the converter are here; else what is missing and how to get it (a skip reason)."""
    missing = []
    if not LLAMA_PYTHON.exists() or subprocess.run(
            [LLAMA_PYTHON, "-c", "import llama_cpp.server.app"], capture_output=True, timeout=60).returncode:
        missing.append(
            f"llama-cpp-python[server] at {LLAMA_PYTHON} (python3.11 -m venv .venv-llama && "
            '.venv-llama/bin/pip install --no-binary llama-cpp-python "llama-cpp-python[server]==0.3.36", '
            "or set LLAMA_SERVER_PYTHON; build flags in tests/llama_cpp_engine.py)")
    if not CONVERTER or not Path(CONVERTER).is_file():
        missing.append(
            "llama.cpp's converter (pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d /tmp/llama-sdist"
            " && tar xzf /tmp/llama-sdist/llama_cpp_python-0.3.36.tar.gz -C /tmp/llama-sdist, then set "
            "LLAMA_CPP_CONVERTER=/tmp/llama-sdist/llama_cpp_python-0.3.36/vendor/llama.cpp/convert_hf_to_gguf.py)")
    return "llama.cpp engine missing: " + "; ".join(missing) if missing else None


def make_gguf(model_dir: Path, out_dir: Path) -> Path:
    """The Hugging Face model in `model_dir` as an f32 GGUF in `out_dir` (f32: tiny, and no rounding to explain)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gguf = out_dir / f"{model_dir.name}-f32.gguf"
    done = subprocess.run(
        [sys.executable, "-c", _CONVERT_AS_GPT2, str(CONVERTER), str(model_dir), "--outfile", str(gguf),
         "--outtype", "f32"], capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S)
    if done.returncode or not gguf.is_file():
        raise RuntimeError(f"convert_hf_to_gguf.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return gguf


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def llama_server(gguf: Path, *, port: int | None = None, ctx: int = 512, extra_args=()) -> Iterator[str]:
    """llama.cpp's server on `gguf` at 127.0.0.1; yields its OpenAI base URL, http://127.0.0.1:PORT/v1."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryDirectory(prefix="llama-server-") as logs:
        log_path = Path(logs) / "server.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                [LLAMA_PYTHON, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                 "--port", str(port), "--n_ctx", str(ctx), *map(str, extra_args)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _answers(f"{base_url}/models"):
                if server.poll() is not None or time.monotonic() > deadline:
                    why = f"exited with {server.returncode}" if server.poll() is not None else \
                        f"did not answer within {START_TIMEOUT_S} s"
                    tail = log_path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"llama.cpp server on port {port} {why}; its log ends:\n{tail}")
                time.sleep(0.25)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:  # uvicorn waits for open streams before it exits on SIGTERM
                server.kill()
                server.wait()
