"""Sentiment: is a text positive or negative (or neutral, for models that know it)? One line, or one per line."""
from __future__ import annotations

import json

import gradio as gr
import torch

from demos.common import model_picker
from demos.endpoints import BATCHED, Endpoint, message_area, serve
from demos.i18n import ui_text
from demos.params import PICKED_MODEL, TYPED_MODEL, Text
from models.runtime import ModelRuntime
from tasks import task

TASK = "sentiment"
RUN_BUTTON = "sentiment_run"  # the catalog key of the button that runs it
RESULT = "#sentiment-output"  # where its result shows (a CSS selector)
MAX_CHARS = 5_000
MAX_LINES = 64
MAX_LINE_TOKENS = 256  # a longer line is read up to here: sentiment shows within a few sentences
BATCH_SIZE = 16  # lines per forward pass: padding to the longest line wastes little
MAX_CLASSES = 100  # a remote engine's answer lists this many classes at most (the contract's top_k)
REMOTE_LINES_AT_ONCE = 8
TABLE_HEADERS = ["text", "sentiment", "score"]
EXAMPLES = json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def classify_lines(classifier, requests: list[list[str]]) -> list[list[dict[str, float]]]:
    """Each request's lines -> each line's {class: probability}; all the lines of all the requests waiting
    together go through the model in padded batches of BATCH_SIZE."""
    lines = [line for request in requests for line in request]
    tokenizer, labels = classifier.tokenizer, classifier.labels
    max_length = min(MAX_LINE_TOKENS, tokenizer.model_max_length)
    probabilities = []
    for start in range(0, len(lines), BATCH_SIZE):
        batch = tokenizer(lines[start:start + BATCH_SIZE], padding=True, truncation=True, max_length=max_length,
                          return_tensors="pt").to(classifier.model.device)
        with torch.inference_mode():
            probabilities += classifier.model(**batch).logits.float().softmax(dim=-1).cpu().tolist()
    scored = [{label: round(p, 4) for label, p in zip(labels, row)} for row in probabilities]
    answers, start = [], 0
    for request in requests:
        answers.append(scored[start:start + len(request)])
        start += len(request)
    return answers


def classify_sentiment(runtime: ModelRuntime, text: str, model: str | None = None, custom_model: str | None = None,
                       progress=None):
    """Say whether a text is positive or negative (or neutral, for models with that class), line by line.

    Args:
        text: the text, at most 5,000 characters; each non-blank line (at most 64) is classified on its own.
        model: a model from the list (its Hugging Face id).
        custom_model: optional Hugging Face id of another text-classification model.

    Returns the classes' probabilities (averaged over the lines) and one row per line: its text, its likeliest
    class and that class's probability.
    """
    lines = lines_of(text)
    spec = runtime.spec(TASK, model, custom_model)
    backend = runtime.remote(TASK)
    if backend is not None:
        return summarised(lines, scores_remote(backend, lines, progress))
    return runtime.remembered(spec, ("sentiment", tuple(lines)),
                              lambda: summarised(lines, scores_here(runtime, spec, lines, progress)))


def scores_here(runtime: ModelRuntime, spec, lines: list[str], progress=None) -> list[dict[str, float]]:
    """Each line's {class: probability}, from the model in this process (with the requests that wait with it)."""
    classifier = runtime.load(spec, progress)
    return runtime.run_batched(spec, lines, lambda requests: classify_lines(classifier, requests))


def scores_remote(backend, lines: list[str], progress=None) -> list[dict[str, float]]:
    """Each line's {class: probability}, one request a line (the contract classifies one text), sent together:
    the engine batches what arrives together."""
    from concurrent.futures import ThreadPoolExecutor

    def classify(line):
        answer = backend.call(lambda client: client.text_classification(line, top_k=MAX_CLASSES), progress)
        return {str(item["label"]): round(float(item["score"]), 4) for item in answer}

    with ThreadPoolExecutor(min(len(lines), REMOTE_LINES_AT_ONCE)) as pool:
        return list(pool.map(classify, lines))


def summarised(lines: list[str], per_line: list[dict[str, float]]):
    """The classes' probabilities averaged over the lines, and a row per line with its likeliest class."""
    overall = {label: round(sum(line[label] for line in per_line) / len(per_line), 4) for label in per_line[0]}
    rows = [[line, *max(scores.items(), key=lambda item: item[1])] for line, scores in zip(lines, per_line)]
    return overall, rows


ENDPOINTS = (Endpoint("classify_sentiment", classify_sentiment, TASK,
                      {"text": Text("param_text", MAX_CHARS, MAX_LINES), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL}, run=BATCHED,
                      sample=lambda model: (EXAMPLES[0], model, "")),)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("sentiment_intro", max_chars=MAX_CHARS, max_lines=MAX_LINES, max_tokens=MAX_LINE_TOKENS))
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label=ui_text("sentiment_text"), lines=6, placeholder=ui_text("sentiment_text_hint"))
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            overall = gr.Label(label=ui_text("sentiment_overall"), elem_id="sentiment-output")
            table = gr.Dataframe(headers=TABLE_HEADERS, label=ui_text("sentiment_lines"), interactive=False,
                                 wrap=True, column_widths=["60%", "25%", "15%"])
            message = message_area()
    gr.Examples(examples=[[example] for example in EXAMPLES], inputs=[text], label=ui_text("examples_label"))

    serve(ENDPOINTS[0], runtime, run.click, [text, model, custom_model], [overall, table], message)
