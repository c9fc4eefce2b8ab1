"""Speech to text against faster-whisper, on real OpenAI whisper-base weights (benchmarks/whisper_weights.py).

    python benchmarks/speech_part.py [--rounds 1] [--json benchmarks/results-cpu.json]

Clips spoken by espeak-ng (Debian package espeak-ng) from known texts, so that each system's word error rate is
measured too: ten 3-5 s English sentences, a story of 20 sentences (over 60 s), and a clip no Whisper can read
(espeak-ng's `cmn` voice speaks the digits of its romanisation). Three systems, one after another on each clip, in
a new order each round:
- `hub`: the running app (`python app.py`) on the CTranslate2 weights, end to end over HTTP (upload, decode,
  transcribe), its default decoding;
- `faster_whisper`: faster-whisper called directly on the same weights and file, int8, the same decoding (its own
  defaults: beam 5, temperature fallback), the threads it is given by the hub too;
- `hub_pytorch`: the running app on the same weights converted for transformers (PyTorch Whisper, float32).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from benchmarks.http_client import HttpClient  # noqa: E402
from benchmarks.serving import free_port, serve, stop  # noqa: E402
from benchmarks.timing import keep_figures  # noqa: E402
from benchmarks.whisper_weights import DEFAULT_CACHE, ctranslate2_whisper_base, transformers_whisper_base  # noqa: E402
from engines.outcome import word_error_rate  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Neural networks learn patterns from examples.",
    "Please close the window before you leave the room.",
    "The train to London leaves at nine in the morning.",
    "She bought three apples and a loaf of bread.",
    "Deep learning changed how computers understand images.",
    "The weather today is cold and windy.",
    "He forgot his keys on the kitchen table.",
    "Our meeting has been moved to Thursday afternoon.",
    "Music can make a long journey feel shorter.",
]
STORY = [
    "Once upon a time, a small robot lived in a quiet village.", "Every morning it walked to the river.",
    "It counted the fish and wrote the numbers in a notebook.", "One day the river was empty.",
    "The robot was worried and asked the old fisherman for help.", "The fisherman said the fish had gone upstream.",
    "So the robot followed the river into the hills.", "It climbed over rocks and crossed a narrow bridge.",
    "At last it found a lake full of fish.", "The fish were hiding from a hungry bird.",
    "The robot built a shelter of stones for them.", "The bird flew away to look for food elsewhere.",
    "Slowly the fish swam back down to the village.", "The villagers thanked the robot with a party.",
    "From then on, the robot counted the fish and the birds.", "Years later, the village had a school.",
    "The children learned to count from the robot's notebook.", "They learned to read the river as well.",
    "When the robot grew old, the children looked after it.", "And every morning, they all walked to the river.",
]
UNREADABLE = "深度学习模型可以直接从数据中学习特征。"
SYSTEMS = ("hub", "faster_whisper", "hub_pytorch")


def speak(text: str, path: Path, voice: str = "en-us") -> Path:
    import librosa
    import soundfile as sf

    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True)
    samples, rate = sf.read(path)
    sf.write(path, librosa.resample(samples, orig_sr=rate, target_sr=16_000), 16_000, subtype="PCM_16")
    return path


def clips(directory: Path) -> dict[str, list[tuple[Path, str, str]]]:
    """kind -> (file, its text, its language)."""
    short = [(speak(text, directory / f"short-{i}.wav"), text, "en") for i, text in enumerate(SENTENCES)]
    story = [(speak(" ".join(STORY), directory / "story.wav"), " ".join(STORY), "en")]
    unreadable = [(speak(UNREADABLE, directory / "unreadable.wav", voice="cmn"), UNREADABLE, "zh")]
    return {"short": short, "long": story, "unreadable": unreadable}


def transcribers(ct2_dir: Path, hub_urls: dict[str, str]):
    from faster_whisper import WhisperModel

    threads = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))
    direct = WhisperModel(str(ct2_dir), device="cpu", compute_type="int8", cpu_threads=threads)

    def faster_whisper(path: Path, language: str) -> tuple[str, int]:
        segments, _ = direct.transcribe(str(path), language=language, beam_size=5)
        found = list(segments)
        return "".join(s.text for s in found), len(found)

    def over_http(url: str):
        client = HttpClient(url)

        def hub(path: Path, language: str) -> tuple[str, int]:
            text, segments = client.predict("/transcribe", path, None, "", language, "transcribe")
            return text, len(segments["data"])
        return hub

    return {"faster_whisper": faster_whisper, **{name: over_http(url) for name, url in hub_urls.items()}}


def measure(run, kinds: dict, rounds: int, seed: int = 0) -> dict:
    """Per kind and system: median seconds per clip, word error rate, segments, the texts."""
    shuffle = random.Random(seed).shuffle
    seconds = {kind: {name: [] for name in run} for kind in kinds}
    answers = {kind: {name: [] for name in run} for kind in kinds}
    for round_ in range(rounds):
        for kind, files in kinds.items():
            for path, text, language in files:
                order = list(run)
                shuffle(order)
                for name in order:
                    started = time.perf_counter()
                    said, segments = run[name](path, language)
                    seconds[kind][name].append(time.perf_counter() - started)
                    if round_ == 0:
                        answers[kind][name].append((text, said, segments))
    return {kind: {name: summary(seconds[kind][name], answers[kind][name]) for name in run} for kind in kinds}


def summary(times: list[float], answers: list[tuple[str, str, int]]) -> dict:
    return {"median_s": round(statistics.median(times), 3), "total_s": round(sum(times), 2),
            "wer": round(statistics.mean(word_error_rate(text, said) for text, said, _ in answers), 3),
            "segments": [segments for _, _, segments in answers],
            "characters": [len(said) for _, said, _ in answers], "first_text": answers[0][1][:200]}


def speech(rounds: int, cache: Path = DEFAULT_CACHE) -> dict:
    ct2_dir, hf_dir = ctranslate2_whisper_base(cache), transformers_whisper_base(cache)
    servers, urls = [], {}
    try:
        for name, model in (("hub", ct2_dir), ("hub_pytorch", hf_dir)):
            port = free_port()
            process, _ = serve([sys.executable, "app.py", "--offline", "--port", str(port), "--result-cache-mb", "0",
                                "--request-timeout-s", "900", "--model", f"speech_to_text={model}"], port)
            servers.append(process)
            urls[name] = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as directory:
            kinds = clips(Path(directory))
            run = transcribers(ct2_dir, urls)
            for path, _, language in kinds["short"][:1]:  # each system's first call loads its model
                for transcribe in run.values():
                    transcribe(path, language)
            results = measure(run, kinds, rounds)
    finally:
        for process in servers:
            stop(process)
    for kind in results.values():
        peer = kind["faster_whisper"]["median_s"]
        kind["hub_vs_faster_whisper"] = round(kind["hub"]["median_s"] / peer, 2)
        kind["pytorch_vs_faster_whisper"] = round(kind["hub_pytorch"]["median_s"] / peer, 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="merge the figures into this results file under 'speech'")
    args = parser.parse_args()
    results = speech(args.rounds, args.cache)
    print(json.dumps(results, indent=1, ensure_ascii=False))
    if args.json:
        keep_figures(args.json, "speech", results)


if __name__ == "__main__":
    main()
