"""Sentiment: is a text positive or negative (or neutral, for models that know it)? One line, or one per line."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from engines import contract
from engines.context import Context
from engines.endpoint import BATCHED, Endpoint
from engines.kinds import LOCAL, REMOTE, Engine
from engines.outcome import Outcome, Table, same_rows
from engines.params import PICKED_MODEL, TYPED_MODEL, Text, Whole
from engines.runtime import ModelRuntime
from tasks import task

TASK = "sentiment"
MAX_CHARS = 5_000
MAX_LINES = 64
MAX_LINE_TOKENS = 256  # a longer line is read up to here: sentiment shows within a few sentences
BATCH_SIZE = 16  # lines per forward pass: padding to the longest line wastes little
MAX_CLASSES = 100  # a remote engine's answer lists this many classes at most (the contract's top_k)
REMOTE_LINES_AT_ONCE = 8
EXAMPLES = json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]
TEXT = Text("param_text", MAX_CHARS, MAX_LINES)


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def classify_lines(classifier, requests: list[list[str]]) -> list[list[dict[str, float]]]:
    """Each request's lines -> each line's {class: probability}; all the lines of all the requests waiting
    together go through the model in padded batches of BATCH_SIZE."""
    import torch

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


class SentimentHere(Engine):
    kind = LOCAL

    def scores(self, lines: list[str], context: Context) -> list[dict[str, float]]:
        """Each line's {class: probability}, with the requests that wait with it."""
        classifier = self.runtime.load(self.spec, context)
        return self.runtime.run_batched(self.spec, lines, lambda requests: classify_lines(classifier, requests))


class SentimentRemote(Engine):
    kind = REMOTE

    def scores(self, lines: list[str], context: Context) -> list[dict[str, float]]:
        """One request a line (the contract classifies one text), sent together: the engine batches what arrives
        together."""
        def classify(line):
            answer = self.backend.call(lambda client: client.text_classification(line, top_k=MAX_CLASSES),
                                       context.progress, context.deadline)
            return {str(item["label"]): round(float(item["score"]), 4) for item in answer}

        with ThreadPoolExecutor(min(len(lines), REMOTE_LINES_AT_ONCE)) as pool:
            return list(pool.map(classify, lines))


KINDS = {LOCAL: SentimentHere, REMOTE: SentimentRemote}


def summarised(lines: list[str], per_line: list[dict[str, float]]):
    """The classes' probabilities averaged over the lines, and a row per line with its likeliest class."""
    overall = {label: round(sum(line[label] for line in per_line) / len(per_line), 4) for label in per_line[0]}
    rows = [[line, *max(scores.items(), key=lambda item: item[1])] for line, scores in zip(lines, per_line)]
    return overall, rows


def classify_sentiment(runtime: ModelRuntime, text: str, model: str | None = None, custom_model: str | None = None,
                       context: Context | None = None):
    """Say whether a text is positive or negative (or neutral, for models with that class), line by line.

    Args:
        text: the text, at most 5,000 characters; each non-blank line (at most 64) is classified on its own.
        model: a model from the list (its Hugging Face id).
        custom_model: optional Hugging Face id of another text-classification model.

    Returns the classes' probabilities (averaged over the lines) and one row per line: its text, its likeliest
    class and that class's probability.
    """
    lines, engine = lines_of(text), runtime.engine(TASK, model, custom_model)
    return runtime.remembered(engine.spec, ("sentiment", tuple(lines)),
                              lambda: summarised(lines, engine.scores(lines, runtime.context(context))))


def read_lines(answer) -> Outcome:
    """The likeliest class over all the lines, and a row per line."""
    overall, rows = answer
    return Outcome(max(overall, key=overall.get), Table(["text", "sentiment", "score"], rows))


ENDPOINTS = (Endpoint("classify_sentiment", classify_sentiment, TASK,
                      {"text": TEXT, "model": PICKED_MODEL, "custom_model": TYPED_MODEL}, run=BATCHED,
                      sample=lambda model: (EXAMPLES[0], model, ""), reads=read_lines,
                      agreement=same_rows(2, "agreement_lines")),)


MEDIA_INPUTS = False  # its contract's inputs are text


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's text-classification: one text's classes, likeliest first, at most top_k of them (in a list of
    one: the contract's answer lists one ranking per input)."""
    text = TEXT.check(request.inputs)
    top_k = Whole("param_top_k", 1, MAX_CLASSES).check(request.parameters.get("top_k", 1))
    scores = runtime.engine(TASK).scores([text], context)[0]
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:top_k]
    return [[{"label": label, "score": score} for label, score in ranked]]
