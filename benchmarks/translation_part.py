"""Translation on CTranslate2 against the tab on PyTorch (as before CTranslate2) and CTranslate2 called directly.

    python benchmarks/translation_part.py [--rounds 5] [--json benchmarks/results-cpu.json]

Opus-MT en-de's real shape (default_size_models.py: random weights, so every sentence is written to the length
bound, the slowest case), the tab's English example, one request at a time, in this process:
- ctranslate2: the translation endpoint's function on a runtime that converted the checkpoint (the default);
- pytorch: the same on a runtime started with --no-ctranslate2;
- direct: ctranslate2.Translator on the converted folder, called as its documentation shows, on the same tokens
  with the same beam size and length bound; its text must be the tab's.
Interleaved round by round, the order turning each round; round 0 warms up and is left out. Targets (#36):
ctranslate2 at most 0.35x pytorch's time and 1.1x direct's.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from benchmarks.timing import keep_figures  # noqa: E402

TARGETS = {"vs_pytorch_at_most": 0.35, "vs_direct_at_most": 1.1}


def translation_part(rounds: int) -> dict:
    import ctranslate2
    import torch
    from default_size_models import opus_mt_en_de

    from engines import translation
    from engines.runtime import ModelRuntime
    from models.ctranslate2_models import conversions_dir
    from models.settings import Settings

    text, source, target = next(e for e in translation.EXAMPLES if e[1:3] == ["en", "de"])
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = opus_mt_en_de(Path(tmp) / "opus-mt-en-de")
        runtimes = {name: ModelRuntime(Settings(model_overrides={"translation": str(model_dir)}, result_cache_mb=0,
                                                ctranslate2=name == "ctranslate2"))
                    for name in ("ctranslate2", "pytorch")}
        for runtime in runtimes.values():
            runtime.load(runtime.default("translation"))
        loaded = runtimes["ctranslate2"].load(runtimes["ctranslate2"].default("translation"))
        [folder] = [p for p in conversions_dir().glob("local--opus-mt-en-de/*") if p.is_dir()]
        direct = ctranslate2.Translator(str(folder), compute_type="int8", intra_threads=torch.get_num_threads())
        tokenizer = loaded.tokenizer
        sentences = [s for line in translation.split_text(text) for s in line]

        def direct_call() -> str:
            tokens = [tokenizer.convert_ids_to_tokens(tokenizer.encode(s)) for s in sentences]
            longest = max(len(t) for t in tokens)
            results = direct.translate_batch(tokens, beam_size=translation.BEAMS,
                                             max_decoding_length=min(3 * longest + 16, loaded.max_positions - 1))
            return " ".join(tokenizer.decode(tokenizer.convert_tokens_to_ids(r.hypotheses[0]),
                                             skip_special_tokens=True).strip() for r in results)

        calls = {name: (lambda rt=runtime: translation.translate_text(rt, text, source, target,
                                                                       rt.default("translation").name))
                 for name, runtime in runtimes.items()}
        calls["direct"] = direct_call
        names, times, texts = list(calls), {name: [] for name in calls}, {}
        for round_ in range(rounds + 1):
            turn = round_ % len(names)
            for name in names[turn:] + names[:turn]:
                started = time.perf_counter()
                texts[name] = calls[name]()
                if round_:
                    times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "model": "Opus-MT en-de's shape, random weights (every sentence written to the length bound)",
        "rounds": rounds, "targets": TARGETS,
        **{f"{name}_s": round(median[name], 3) for name in names},
        **{f"{name}_s_range": [round(min(v), 3), round(max(v), 3)] for name, v in times.items()},
        "ctranslate2_vs_pytorch": round(median["ctranslate2"] / median["pytorch"], 3),
        "ctranslate2_vs_direct": round(median["ctranslate2"] / median["direct"], 3),
        "same_text_as_direct": texts["ctranslate2"] == texts["direct"],
        "targets_met": median["ctranslate2"] / median["pytorch"] <= TARGETS["vs_pytorch_at_most"]
        and median["ctranslate2"] / median["direct"] <= TARGETS["vs_direct_at_most"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="merge the figures into this file, under 'translation'")
    args = parser.parse_args()
    results = translation_part(args.rounds)
    print(json.dumps(results, indent=2))
    if args.json:
        keep_figures(args.json, "translation", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
