"""A chain: one task's answer handed to the next, as declared (`speech_to_text → translation → ner`). Each step is
its task's own endpoint, on its default model, with that endpoint's checks and limits on what it is handed (a
transcript too long to translate is refused as a typed text would be); a step that fails is named in the words
the caller reads. A detection hands on its boxes: each box's crop is classified."""
from __future__ import annotations

import importlib
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import messages
from engines import image_classification, object_detection, translation
from engines.context import Context
from engines.endpoint import STEPS, Endpoint
from engines.media import client_file, upload_path
from engines.outcome import Outcome, Table
from engines.params import OneOf, Optional, Real, Text, Upload
from engines.refusal import Refusal, refuse
from engines.runtime import ModelRuntime
from models.errors import ModelLoadError
from tasks import EXAMPLES_DIR

# What each task's answer can be handed to.
NEXT = {"speech_to_text": ("translation", "ner", "sentiment"), "translation": ("ner", "sentiment"),
        "object_detection": ("image_classification",)}
STARTS = {"speech_to_text": "audio", "translation": "text", "ner": "text", "sentiment": "text",
          "object_detection": "image"}  # a chain's first task, and the input it takes
ARROW = " → "
MAX_CHAIN_CHARS = 10_000  # the text a chain starts from; each step's own limit applies to what it is handed
MAX_CROPS = 20  # a detection hands on at most this many boxes, the likeliest first
CROPS_AT_ONCE = 8  # crops sent to the classifier together, so that they share its forward passes
CROP_HEADERS = ["box", "box score", "class", "probability"]
TRANSLATION_LANGUAGES = tuple(translation.LANGUAGES)


def chains() -> list[tuple[str, ...]]:
    """Every chain of two steps or more, in the order NEXT lists them."""
    found = []

    def extend(path):
        if len(path) > 1:
            found.append(path)
        for step in NEXT.get(path[-1], ()):
            extend((*path, step))

    for first in STARTS:
        extend((first,))
    return found


CHAINS = {ARROW.join(chain): chain for chain in chains()}


@dataclass(frozen=True)
class Steps(OneOf):
    """A declared chain, one of CHAINS: task keys joined by arrows ("→", "->", ">") or commas."""

    def check(self, value):
        if isinstance(value, str) and len(value) <= 200:
            value = ARROW.join(step.strip() for step in re.split(r"→|->|>|,", value))
        return super().check(value)


def step_endpoint(task: str) -> Endpoint:
    return importlib.import_module(f"engines.{task}").ENDPOINTS[0]


def first_input(task: str, text, audio, image):
    given = {"text": text, "audio": audio, "image": image}[STARTS[task]]
    if not given:
        raise refuse("refuse_chain_needs_input", task=messages.Term(f"tab_{task}"),
                     input=messages.Term(f"param_{STARTS[task]}"))
    return given


class StepFailed(Refusal):
    """A step's refusal or failed load, said with the step's number and task."""


def failed(number: int, task: str, error: Exception) -> StepFailed:
    reason = error if isinstance(error, messages.Said) else messages.Term("error_something_went_wrong")
    return StepFailed("refuse_chain_step", number=number, task=messages.Term(f"tab_{task}"), reason=reason)


def run_chain(runtime: ModelRuntime, steps: str, text: str | None = None, audio: dict | None = None,
              image: dict | None = None, source_language: str = "en", target_language: str = "de",
              threshold: float = 0.5, context: Context | None = None):
    """Run a chain of tasks, each step's answer handed to the next: speech to text, then translation, entities or
    sentiment; translation, then entities or sentiment; detection, then classification of each box.

    Args:
        steps: the chain, e.g. "speech_to_text → translation → ner" (arrows or commas between task names); one of
            the chains listed in the refusal of any other.
        text: the text a chain starting with translation, ner or sentiment reads.
        audio: the recording a chain starting with speech_to_text reads.
        image: the photo a chain starting with object_detection reads.
        source_language: the language of the speech or text, e.g. "en" (translation needs it).
        target_language: the language to translate into, e.g. "de".
        threshold: the lowest score a detected box is handed on with, from 0.05 to 1.

    Returns the last step's text, its table, and every step (its task, model, seconds, text and table).
    """
    context = runtime.context(context)
    steps = CHAINS[steps]
    handed = first_input(steps[0], text, audio, image)
    if "translation" in steps:  # before any step's work
        translation.refuse_languages(source_language, target_language)
    report, outcome, picture = [], None, None
    for number, task in enumerate(steps, 1):
        started = time.perf_counter()
        step_context = context.anew()
        try:
            with runtime.noting() as noted:
                if task == "image_classification":
                    outcome = classified_crops(runtime, outcome, picture, step_context)
                elif task == "object_detection":
                    outcome, picture = detected(runtime, handed, threshold, step_context)
                else:
                    outcome = read_text_or_speech(runtime, task, handed, source_language, target_language,
                                                  step_context)
        except (Refusal, ModelLoadError) as error:
            raise failed(number, task, error) from None
        report.append({"step": number, "task": task, "model": noted.models[0].name if noted.models else "",
                       "seconds": round(time.perf_counter() - started, 3), **outcome.as_json()})
        handed = outcome.text
    table = outcome.table
    return outcome.text, None if table is None else {"headers": table.headers, "data": table.rows}, report


def read_text_or_speech(runtime, task: str, handed, source: str, target: str, context: Context) -> Outcome:
    """The step's endpoint on what it is handed, checked by its own params."""
    endpoint = step_endpoint(task)
    if task == "speech_to_text":
        language = source if source in endpoint.params["language"].choices else "auto"
        answer = endpoint.call(runtime, handed, language=language, context=context)
    elif task == "translation":
        model = translation.default_model(runtime)
        answer = endpoint.call(runtime, endpoint.params["text"].check(handed), source, target, model,
                               context=context)
    else:
        answer = endpoint.call(runtime, endpoint.params["text"].check(handed), context=context)
    return endpoint.reads(answer)


def detected(runtime, image, threshold: float, context: Context):
    """The detection's outcome (its boxes drawn), and its picture without them, to cut the boxes from."""
    path = upload_path(client_file(image))
    picture, found = runtime.engine(object_detection.TASK).detections(path, threshold, context)
    return object_detection.ENDPOINTS[0].reads(object_detection.shown(picture, found, threshold, MAX_CROPS)), picture


def classified_crops(runtime, detected: Outcome, picture, context: Context) -> Outcome:
    """Each box of the detection cut out of its picture and classified; the crops wait together, so that they
    share the classifier's forward passes."""
    boxes = detected.table.rows[:MAX_CROPS]
    if not boxes:
        return Outcome("", Table(CROP_HEADERS, []))
    with tempfile.TemporaryDirectory(prefix="demo-hub-crops-") as folder:
        paths = []
        for i, (_, _, *box) in enumerate(boxes):
            path = Path(folder) / f"crop-{i}.png"
            picture.crop(tuple(box)).save(path)
            paths.append(path)
        with ThreadPoolExecutor(min(len(paths), CROPS_AT_ONCE)) as pool:
            scores = list(pool.map(lambda path: image_classification.classify(runtime, path, context=context),
                                   paths))
    rows = [[box[0], box[1], *max(each.items(), key=lambda item: item[1])] for box, each in zip(boxes, scores)]
    return Outcome(", ".join(f"{row[0]}: {row[2]}" for row in rows), Table(CROP_HEADERS, rows))


def read_chain(answer) -> Outcome:
    text, table, _ = answer
    return Outcome(text, None if table is None else Table(table["headers"], table["data"]))


TASK = "chain"  # (its steps are other tasks')
ENDPOINTS = (Endpoint("run_chain", run_chain, TASK,
                      {"steps": Steps("param_chain_steps", tuple(CHAINS)),
                       "text": Optional(Text("param_text", MAX_CHAIN_CHARS)),
                       "audio": Upload("param_audio"), "image": Upload("param_image"),
                       "source_language": OneOf("param_source_language", TRANSLATION_LANGUAGES),
                       "target_language": OneOf("param_target_language", TRANSLATION_LANGUAGES),
                       "threshold": Real("param_score_threshold", 0.05, 1.0)},
                      run=STEPS, reads=read_chain,
                      sample=lambda _: (ARROW.join(("object_detection", "image_classification")), None, None,
                                        EXAMPLES_DIR / "images" / "cat.jpg", "en", "de", 0.5)),)
