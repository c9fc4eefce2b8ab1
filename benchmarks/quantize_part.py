"""fp32 against int8 weights (`--quantize int8`, models/quantization.py) on the default-size transformer models:
time per request, model memory, and how closely the int8 model answers as the fp32 one does, on the same inputs.

The models have random weights (built offline), so their answers are noise, often with near ties that a small
change flips; a trained model's confident answers agree at least as well. Agreement is read per task: NER, the
same entities (text, type, span) for each of the tab's examples; sentiment, the same likeliest class for each
line of its examples; translation, speech and generation on the sample request, the share of words in common,
in order (difflib), and whether the texts are identical.
"""
from __future__ import annotations

import difflib
import statistics

from benchmarks.per_request import request_cases
from benchmarks.timing import timed
from models.device import module_bytes
from models.quantization import ENGINE, QUANTIZED_TASKS
from models.settings import Settings


def agreement(runtimes: dict, fp32_case, int8_case) -> dict:
    from engines import ner, sentiment

    fp32, int8 = runtimes["none"], runtimes["int8"]
    if fp32_case.task == "ner":
        same = [ner.ner(fp32, text)[0] == ner.ner(int8, text)[0] for text in ner.EXAMPLES]
        return {"texts": len(same), "same_entities_share": round(sum(same) / len(same), 3)}
    if fp32_case.task == "sentiment":
        same = [a[1] == b[1] for text in sentiment.EXAMPLES for a, b in
                zip(sentiment.classify_sentiment(fp32, text)[1], sentiment.classify_sentiment(int8, text)[1])]
        return {"lines": len(same), "same_class_share": round(sum(same) / len(same), 3)}
    texts = []
    for answer in (fp32_case.handler(), int8_case.handler()):
        answer = answer[-1] if isinstance(answer, list) else answer  # a stream's last part
        texts.append((answer[0] if isinstance(answer, tuple) else answer).split())
    return {"identical": texts[0] == texts[1],
            "words_in_common": round(difflib.SequenceMatcher(None, *texts).ratio(), 3)}


def quantize(models: dict, repeats: int) -> dict:
    from engines.runtime import ModelRuntime

    chosen = {task: str(models[task]) for task in QUANTIZED_TASKS if task in models}
    runtimes = {precision: ModelRuntime(Settings(model_overrides=chosen, quantize=precision, result_cache_mb=0,
                                                 max_loaded_models=len(chosen)))
                for precision in ("none", "int8")}
    cases = {precision: request_cases(runtime, chosen) for precision, runtime in runtimes.items()}
    results = {"engine": ENGINE}
    for fp32_case, int8_case in zip(cases["none"], cases["int8"]):
        task = fp32_case.task
        times = {"fp32": [], "int8": []}
        for repeat in range(repeats + 1):  # the first round warms up
            pair = [("fp32", fp32_case), ("int8", int8_case)]
            for name, case in pair if repeat % 2 else pair[::-1]:
                seconds = timed(case.handler)
                if repeat:
                    times[name].append(seconds)
        fp32_ms, int8_ms = (1000 * statistics.median(times[name]) for name in ("fp32", "int8"))
        results[fp32_case.api_name] = {
            "fp32_ms": round(fp32_ms, 1), "int8_ms": round(int8_ms, 1), "speedup": round(fp32_ms / int8_ms, 2),
            "fp32_model_mb": round(module_bytes(runtimes["none"].load(runtimes["none"].default(task))) / 2**20, 1),
            "int8_model_mb": round(module_bytes(runtimes["int8"].load(runtimes["int8"].default(task))) / 2**20, 1),
            **agreement(runtimes, fp32_case, int8_case),
        }
    return results


def engines(models: dict, repeats: int) -> dict:
    """Why models/quantization.py uses PyTorch's dynamic quantisation: the NER model's forward (BERT-base) in
    fp32, with torchao's two int8 configs as the hub would run them (eagerly), and with the engine in use;
    interleaved, medians, and the share of tokens whose likeliest label is fp32's."""
    import copy

    import torch
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from engines.ner import EXAMPLES
    from models.quantization import quantize_int8

    fp32 = AutoModelForTokenClassification.from_pretrained(models["ner"]).eval()
    inputs = AutoTokenizer.from_pretrained(models["ner"])(EXAMPLES[0], return_tensors="pt")
    variants = {"fp32": fp32}
    for name, config in (("torchao_int8_dynamic", Int8DynamicActivationInt8WeightConfig()),
                         ("torchao_int8_weight_only", Int8WeightOnlyConfig())):
        variants[name] = copy.deepcopy(fp32)
        quantize_(variants[name], config)
    variants["in_use"] = copy.deepcopy(fp32)
    quantize_int8(variants["in_use"])
    times = {name: [] for name in variants}
    with torch.inference_mode():
        reference = fp32(**inputs).logits.argmax(-1)
        agree = {name: float((model(**inputs).logits.argmax(-1) == reference).float().mean())
                 for name, model in variants.items()}
        for repeat in range(3 * repeats + 1):
            for name, model in variants.items():
                seconds = timed(lambda model=model: model(**inputs))
                if repeat:
                    times[name].append(seconds)
    fp32_s = statistics.median(times["fp32"])
    return {"tokens": int(inputs["input_ids"].shape[1]), "in_use": ENGINE,
            **{name: {"ms": round(1000 * statistics.median(t), 1), "vs_fp32": round(statistics.median(t) / fp32_s, 2),
                      "same_label_share": round(agree[name], 3)} for name, t in times.items()}}
