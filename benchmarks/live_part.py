"""Live speech and live detection (the speech and detection tabs' Live modes) on this CPU, quiet and loaded.

    python benchmarks/live_part.py [--burners 2] [--json benchmarks/results-cpu.json]   # needs espeak-ng

Speech, on real OpenAI whisper-base weights, int8 (benchmarks/whisper_weights.py): speech_part.py's ten sentences,
spoken by espeak-ng, joined by 1 s pauses into one stream of about 45 s, fed to the hub's live engine
(engines/live_speech.py, the object the page's stream handler feeds) in real time, half a second at a time, as the
page sends a microphone's audio. For each word the reference reads right, its delay from when it was spoken (its
end, in faster-whisper's word timestamps of the whole stream read as a file) to when the engine first shows it,
tentative and stable: median and 90th percentile. The final text's word error rate beside the file mode's (the
hub's transcribe on the same stream). The engine's busy share: its readings' time over the stream's length. Then
two streams at once (the second half a second later), and all of it again with `--burners` busy processes.

Detection: SSDlite320 (the tab's default architecture, random weights: COCO's are not reachable offline, and the
work is the same) on 640x480 webcam frames sent as JPEG data URLs, as the page sends them: each frame's time from
its data URL to the boxed JPEG the page shows (decode, detect, draw, encode), hence frames per second. A frame
waits for at most the one before it (the stream keeps only the newest), so the boxes shown are at most twice a
frame's time old, plus the hop to the browser.
"""
from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchmarks.cpu_burner import burning  # noqa: E402
from benchmarks.speech_part import SENTENCES, speak  # noqa: E402
from benchmarks.timing import keep_figures  # noqa: E402
from benchmarks.whisper_weights import DEFAULT_CACHE, ctranslate2_whisper_base  # noqa: E402
from engines.outcome import word_error_rate, words  # noqa: E402

PAUSE_S = 1.0
FRAMES = 60


def speech_stream(directory: Path) -> tuple[np.ndarray, str]:
    from engines.media import SAMPLE_RATE, read_audio

    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
    parts = [pause]
    for index, sentence in enumerate(SENTENCES):
        parts += [read_audio(speak(sentence, directory / f"sentence-{index}.wav")), pause]
    return np.concatenate(parts), " ".join(SENTENCES)


def spoken_at(model_dir: Path, samples: np.ndarray) -> list[tuple[str, float]]:
    """Each word of the stream and when it ended, as faster-whisper reads the whole stream (file mode)."""
    from faster_whisper import WhisperModel

    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8")
    found, _ = model.transcribe(samples, language="en", beam_size=5, word_timestamps=True)
    return [(bare, word.end) for segment in found for word in segment.words for bare in words(word.word)]


def live_run(runtime, samples: np.ndarray, start_delay: float, out: dict) -> None:
    """One live stream fed in real time; every view it showed, with when."""
    from engines.live_speech import CHUNK_S, chunks_of
    from engines.speech_to_text import live_transcriber

    transcriber = live_transcriber(runtime, language="en")
    time.sleep(start_delay)
    started, shown = time.monotonic(), []
    for index, chunk in enumerate(chunks_of(samples)):
        time.sleep(max(0.0, started + (index + 1) * CHUNK_S - time.monotonic()))  # the chunk has been spoken
        view = transcriber.feed(chunk)
        shown.append((time.monotonic() - started, words(view.stable), words(view.text)))
    view = transcriber.finish()
    shown.append((time.monotonic() - started, words(view.stable), words(view.text)))
    out.update(shown=shown, text=view.stable, busy_share=transcriber.busy_s / (len(samples) / 16_000),
               readings=transcriber.readings)


def delays(spoken: list[tuple[str, float]], shown: list, which: int) -> list[float]:
    """For each spoken word, how long after its end it was first shown (`which`: 1 stable, 2 stable or tentative)
    where the shown words, aligned with the spoken ones (difflib), have it: a word read wrong is not counted, and
    does not shift the words after it."""
    from difflib import SequenceMatcher

    spoken_words, first_shown = [word for word, _ in spoken], {}
    for at, *texts in shown:
        for block in SequenceMatcher(None, spoken_words, texts[which - 1], autojunk=False).get_matching_blocks():
            for place in range(block.a, block.a + block.size):
                first_shown.setdefault(place, at)
    return [first_shown[place] - end for place, (_, end) in enumerate(spoken) if place in first_shown]


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"median_s": round(statistics.median(ordered), 3) if ordered else None,
            "p90_s": round(ordered[int(0.9 * (len(ordered) - 1))], 3) if ordered else None, "words": len(ordered)}


def live_speech(model_dir: Path, samples: np.ndarray, reference: str, streams: int) -> dict:
    from engines.runtime import ModelRuntime
    from engines.speech_to_text import transcribe
    from models.settings import Settings

    runtime = ModelRuntime(Settings(model_overrides={"speech_to_text": str(model_dir)}))
    spoken = spoken_at(model_dir, samples)
    runs = [{} for _ in range(streams)]
    threads = [threading.Thread(target=live_run, args=(runtime, samples, 0.5 * index, runs[index]))
               for index in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    file_text, _ = transcribe(runtime, (16_000, samples), language="en")
    return {"stream_s": round(len(samples) / 16_000, 1),
            "file_mode_wer": round(word_error_rate(reference, file_text), 4),
            "streams": [{"tentative": summary(delays(spoken, run["shown"], 2)),
                         "stable": summary(delays(spoken, run["shown"], 1)),
                         "wer": round(word_error_rate(reference, run["text"]), 4),
                         "busy_share": round(run["busy_share"], 3), "readings": run["readings"],
                         "text": run["text"]} for run in runs], "file_mode_text": file_text}


def live_detection(directory: Path) -> dict:
    from PIL import Image

    from benchmarks.default_size_models import ssdlite
    from engines.object_detection import detect_frame
    from engines.runtime import ModelRuntime
    from models.settings import Settings

    runtime = ModelRuntime(Settings(model_overrides={"object_detection": str(ssdlite(directory / "ssdlite"))}))
    frames = []
    for photo in sorted((ROOT / "assets" / "examples" / "images").glob("*.jpg")):
        picture = Image.open(photo).convert("RGB").resize((640, 480))
        path = directory / f"{photo.stem}-640.jpg"
        picture.save(path, quality=85)
        frames.append({"url": "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()})
    detect_frame(runtime, frames[0])  # loads the model
    times = []
    for index in range(FRAMES):
        started = time.perf_counter()
        detect_frame(runtime, frames[index % len(frames)])
        times.append(time.perf_counter() - started)
    ordered = sorted(times)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return {"frame_median_ms": round(1000 * statistics.median(times), 1), "frame_p95_ms": round(1000 * p95, 1),
            "frames_per_s": round(1 / statistics.mean(times), 1), "boxes_age_bound_ms": round(2000 * p95, 1),
            "frames": FRAMES, "frame": "640x480 JPEG data URL"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burners", type=int, default=2, help="busy processes beside the engine in the loaded run")
    parser.add_argument("--json", type=Path, help="keep the figures in this results file, under live")
    args = parser.parse_args()
    model_dir = ctranslate2_whisper_base(DEFAULT_CACHE)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        samples, reference = speech_stream(Path(folder))
        for load in (0, args.burners):
            with burning(load, max_seconds=900):
                key = "quiet" if load == 0 else f"with_{load}_burners"
                results[key] = {"one_stream": live_speech(model_dir, samples, reference, 1),
                                "two_streams": live_speech(model_dir, samples, reference, 2),
                                "detection": live_detection(Path(folder))}
                print(key, results[key], flush=True)
    if args.json:
        keep_figures(args.json, "live", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
