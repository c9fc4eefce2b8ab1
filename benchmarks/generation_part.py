"""The chat's streamed reply against the plain `generate` loop a user would write, on the same model.

    python benchmarks/generation_part.py [--rounds 3] [--new-tokens 64] [--models DIR] [--json PATH]

Four ways to a greedy reply to the same chat message, interleaved round by round (the first round warms up and is
left out; the order turns each round, as a shared 2-core machine is noisy):
- plain: the transformers docs' streaming recipe (TextIteratorStreamer, model.generate on a thread), in a
  process of its own as a user's script runs: in this one the hub's long-lived torch thread would keep its
  OpenMP team beside the recipe's and slow it (bench.py's `openmp`), flattering ours;
- in_process: the chat endpoint's function (engines/text_generation.chat_reply) on a ModelRuntime, here: on
  CTranslate2, which converts the checkpoint (int8 on a CPU);
- pytorch: the same on a runtime started with --no-ctranslate2, as the tab ran before CTranslate2;
- end_to_end: `python app.py --model text_generation=DIR`, its /chat over Gradio's HTTP streaming API.
Time to first token is the time to the first non-empty text; tokens/s is the rate after it, over the same number
of tokens for all (int8 may choose other words than float32: `same_reply` says). Targets: ours' first text within
1.1x the plain loop's, ours' tokens/s at least 0.95x its (#20); in_process at least 3x pytorch's tokens/s (#36).
"""
from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

MESSAGE = "Hello! How are you today?"
CALL_LIMIT_S = 300.0  # one reply (or the plain process's load): slower is a failure, not a figure
TARGETS = {"first_text_at_most": 1.1, "tokens_per_s_at_least": 0.95}
SPEAKS = "speaks-words"  # in a model folder that speaking() has made to speak


def speaking(model_dir: Path) -> Path:
    """default_size_models' random Qwen answers in ids its 400-token tokenizer cannot decode (of 151,936), or in
    pieces with no space, which TextIteratorStreamer holds back to the end: no text would stream before the
    last token. Shrinking every embedding row (tied: the output layer too) but those of the tokenizer's
    space-led words makes greedy decoding pick them, so the reply streams word by word as a real model's does;
    the shapes, and so the compute, stay the same."""
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer

    vocabulary = AutoTokenizer.from_pretrained(model_dir).get_vocab()
    if len(vocabulary) >= json.loads((model_dir / "config.json").read_text())["vocab_size"]:
        return model_dir  # a real tokenizer, whose model's replies are words already: left as it is
    words = [i for token, i in vocabulary.items() if token.startswith("Ġ") and token[1:].isalpha()]
    path = model_dir / "model.safetensors"
    weights = load_file(path)
    embedding = weights["model.embed_tokens.weight"]
    kept = embedding[words].clone()
    embedding.mul_(1e-3)
    embedding[words] = kept
    # Beside it, then renamed: the loaded tensors may still be the old file's pages, mapped.
    save_file(weights, path.with_suffix(".new"), metadata={"format": "pt"})
    path.with_suffix(".new").replace(path)
    return model_dir


def plain_worker(model_dir: str, new_tokens: int, device: str, dtype: str) -> None:
    """The recipe a user would write, one reply per line read on stdin; its timings as a JSON line each."""
    from threading import Thread

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).to(device)
    for _ in sys.stdin:  # the parent's requests: one line each, until it closes the pipe
        started = time.perf_counter()
        inputs = tokenizer.apply_chat_template([{"role": "user", "content": MESSAGE}], add_generation_prompt=True,
                                               return_tensors="pt", return_dict=True).to(device)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=CALL_LIMIT_S)
        outputs = []
        thread = Thread(target=lambda: outputs.append(model.generate(
            **inputs, streamer=streamer, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)))
        thread.start()
        first, reply = None, ""
        for text in streamer:
            if text and first is None:
                first = time.perf_counter() - started
            reply += text
        thread.join()
        total = time.perf_counter() - started
        tokens = outputs[0].shape[1] - inputs["input_ids"].shape[1]
        print(json.dumps({"first_s": first, "total_s": total, "tokens": tokens, "reply": reply}), flush=True)


class PlainLoop:
    """The plain recipe's process: reply() asks it for one reply and waits, at most CALL_LIMIT_S, for its figures."""

    def __init__(self, model_dir: Path, new_tokens: int, device: str, dtype: str):
        command = [sys.executable, __file__, "--plain-worker", str(model_dir), "--new-tokens", str(new_tokens),
                   "--device", device, "--dtype", dtype]
        self.process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env={**os.environ, "TRANSFORMERS_VERBOSITY": "error"})

    def reply(self) -> dict:
        self.process.stdin.write("reply\n")
        self.process.stdin.flush()
        # One line comes back per request, so nothing waits unread in the pipe's buffer when select() looks.
        if not select.select([self.process.stdout], [], [], CALL_LIMIT_S)[0]:
            raise RuntimeError(f"the plain loop gave no reply within {CALL_LIMIT_S:g} s")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the plain loop's process ended (exit status {self.process.wait(timeout=30)})")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()  # its loop ends at the end of its stdin
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def in_process_reply(runtime, lm, new_tokens: int) -> dict:
    """The chat endpoint's function, greedy, timed from the call to its first non-empty text and to its end."""
    from engines.text_generation import chat_reply

    before = lm.tokens_generated
    started = time.perf_counter()
    first, reply = None, ""
    for reply in chat_reply(runtime, MESSAGE, None, "", new_tokens, 0.0, 1.0, 0):
        if reply and first is None:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    return {"first_s": first, "total_s": total, "tokens": lm.tokens_generated - before, "reply": reply}


def http_reply(client, model_name: str, new_tokens: int) -> dict:
    """/chat through the running app, timed from the POST to the first text and to the end (http_client.py). The
    client keeps its session, as a browser tab or gradio_client does: a new one costs Gradio a copy of every
    block's config, the whole hub's. The token count is the in-process one's."""
    from benchmarks.http_client import chat_stream

    first, total, reply = chat_stream(client.http, client.session, MESSAGE, model_name, new_tokens)
    return {"first_s": first, "total_s": total, "tokens": None, "reply": reply}


def generation(model_dir: Path, rounds: int, new_tokens: int = 64, end_to_end: bool = True) -> dict:
    """Time to first text and tokens/s of the plain loop, the chat function here and (end_to_end) the running
    app, on `model_dir` (a chat model whose greedy reply streams words: see speaking()), interleaved."""
    from benchmarks.http_client import HttpClient
    from benchmarks.serving import free_port, serve, stop
    from engines.runtime import ModelRuntime
    from models.settings import Settings

    runtime, on_pytorch = (ModelRuntime(Settings(model_overrides={"text_generation": str(model_dir)},
                                                 request_timeout_s=CALL_LIMIT_S, ctranslate2=ctranslate2))
                           for ctranslate2 in (True, False))
    spec = runtime.default("text_generation")
    lm, lm_on_pytorch = runtime.load(spec), on_pytorch.load(spec)
    plain = PlainLoop(model_dir, new_tokens, runtime.device, str(runtime.dtype).removeprefix("torch."))
    app, http = None, None
    try:
        variants = {"plain": plain.reply, "in_process": lambda: in_process_reply(runtime, lm, new_tokens),
                    "pytorch": lambda: in_process_reply(on_pytorch, lm_on_pytorch, new_tokens)}
        if end_to_end:
            port = free_port()
            app, _ = serve([sys.executable, "app.py", "--offline", "--port", str(port), "--model",
                            f"text_generation={model_dir}"], port)
            http = HttpClient(f"http://127.0.0.1:{port}")  # its timeout bounds each wait of the event stream
            variants["end_to_end"] = lambda: http_reply(http, spec.name, new_tokens)
        replies = interleaved(variants, rounds)
    finally:
        plain.close()
        if http is not None:
            http.close()
        if app is not None:
            stop(app)
    return summary(replies, new_tokens)


def interleaved(variants: dict, rounds: int) -> dict[str, list[dict]]:
    """Each variant's replies, round by round, in an order that turns each round; round 0 warms up (loads, first
    calls) and is left out."""
    names = list(variants)
    replies = {name: [] for name in names}
    for round_ in range(rounds + 1):
        turn = round_ % len(names)
        for name in names[turn:] + names[:turn]:
            reply = variants[name]()
            if reply["first_s"] is None:
                raise RuntimeError(f"{name}: no text came before the end (is the model's reply made of words?)")
            if round_:
                replies[name].append(reply)
    return replies


def summary(replies: dict[str, list[dict]], new_tokens: int) -> dict:
    """Medians per variant, and ours against the plain loop's. Tokens/s is over the tokens after the first text:
    the same tokens in every variant (the first text comes with the same token where the replies agree)."""
    counts = {reply["tokens"] for name in ("plain", "in_process", "pytorch") for reply in replies[name]}
    if counts != {new_tokens}:
        raise RuntimeError(f"asked for {new_tokens} new tokens, generated {sorted(counts)}")
    # int8 (CTranslate2) rounds other numbers than float32: its greedy reply may part from the others'
    results = {"new_tokens": new_tokens, "rounds": len(replies["plain"]), "targets": TARGETS,
               "same_reply": {name: len({reply["reply"] for reply in [*replies["plain"], *runs]}) == 1
                              for name, runs in replies.items() if name != "plain"}}
    median = {}
    for name, runs in replies.items():
        firsts = [reply["first_s"] for reply in runs]
        rates = [(new_tokens - 1) / (reply["total_s"] - reply["first_s"]) for reply in runs]
        median[name] = (statistics.median(firsts), statistics.median(rates))
        # the ranges say how far to trust a ratio of medians on a machine that others share
        results[name] = {"first_text_ms": round(1000 * median[name][0], 1),
                         "first_text_ms_range": [round(1000 * min(firsts), 1), round(1000 * max(firsts), 1)],
                         "total_s": round(statistics.median(reply["total_s"] for reply in runs), 3),
                         "tokens_per_s": round(median[name][1], 3),
                         "tokens_per_s_range": [round(min(rates), 3), round(max(rates), 3)]}
    # CTranslate2 (the default) against the tab as it ran on PyTorch before it
    results["in_process_vs_pytorch_tokens_per_s"] = round(median["in_process"][1] / median["pytorch"][1], 3)
    plain_first, plain_rate = median["plain"]
    for name in ("in_process", "end_to_end"):
        if name in median:
            first_ratio, rate_ratio = median[name][0] / plain_first, median[name][1] / plain_rate
            results[f"{name}_vs_plain"] = {
                "first_text": round(first_ratio, 3), "tokens_per_s": round(rate_ratio, 3),
                "meets_targets": first_ratio <= TARGETS["first_text_at_most"]
                and rate_ratio >= TARGETS["tokens_per_s_at_least"]}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--no-end-to-end", action="store_true", help="leave out the running app over HTTP")
    parser.add_argument("--models", type=Path,
                        help="where the model is built, or reused if there (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="merge the figures into this file, under 'generation'")
    parser.add_argument("--plain-worker", help=argparse.SUPPRESS)  # the plain loop's own process
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1 or args.new_tokens < 2:
        parser.error("--rounds must be at least 1 and --new-tokens at least 2")
    if args.plain_worker:
        plain_worker(args.plain_worker, args.new_tokens, args.device, args.dtype)
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = prepare(args.models or Path(tmp))
        results = generation(model_dir, args.rounds, args.new_tokens, end_to_end=not args.no_end_to_end)
    print(json.dumps(results, indent=2))
    if args.json:
        from benchmarks.timing import keep_figures

        keep_figures(args.json, "generation", results)
    return 0


def prepare(directory: Path) -> Path:
    """build_all's Qwen2.5-0.5B-size random model in `directory`, made to speak (once: a file marks it), on the
    hub's torch thread as bench.py builds its models: torch work on this thread would give it an OpenMP team
    beside that one's."""
    from default_size_models import build_all

    from models.settings import Settings
    from models.torch_threads import shared_torch_threads

    model_dir, marker = directory / "text_generation", directory / "text_generation" / SPEAKS
    if not marker.exists():
        run = shared_torch_threads(Settings().device_concurrency).run
        if not (model_dir / "config.json").exists():
            run(build_all, directory, ("text_generation",))
        run(speaking, model_dir)
        marker.touch()
    return model_dir


if __name__ == "__main__":
    sys.exit(main())
