"""Named-entity recognition: who, where and which organisation a text mentions."""
from __future__ import annotations

import json

import torch

from engines import contract
from engines.context import Context
from engines.endpoint import BATCHED, Endpoint
from engines.kinds import LOCAL, REMOTE, Engine
from engines.outcome import Outcome, Table, same_rows
from engines.params import PICKED_MODEL, TYPED_MODEL, Text
from engines.runtime import ModelRuntime
from models.hf import ENTITY_GROUPING
from tasks import task

TASK = "ner"
MAX_CHARS = 10_000
EXAMPLES = json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]
TEXT = Text("param_text", MAX_CHARS)


def to_outputs(text: str, entities: list[dict]) -> tuple[dict, list[list]]:
    """Pipeline entities -> the HighlightedText value and the table rows (overlaps dropped, in text order)."""
    spans, rows, last_end = [], [], 0
    for entity in sorted(entities, key=lambda e: (e["start"], -e["end"])):
        start, end = int(entity["start"]), int(entity["end"])
        if start < last_end or end <= start:
            continue  # windows of a long text can repeat an entity
        spans.append({"entity": entity["entity_group"], "start": start, "end": end})
        rows.append([text[start:end], entity["entity_group"], round(float(entity["score"]), 4), start, end])
        last_end = end
    return {"text": text, "entities": spans}, rows


def window_overlap(tokenizer) -> int:
    """How many tokens consecutive windows of a long text share, so an entity cut by one window is whole in the next."""
    return tokenizer.model_max_length // 8


def find_entities(recognizer, texts: list[str]) -> list[list[dict]]:
    """Each text's entities. The texts, and the overlapping windows of texts longer than the model's window,
    go through the model in one padded batch; the pipeline's own post-processing groups word pieces into
    entities. (Calling the pipeline on the list does the same through a DataLoader, which costs more per
    request.)"""
    from transformers.pipelines.token_classification import AggregationStrategy

    tokenizer, strategy = recognizer.tokenizer, AggregationStrategy(ENTITY_GROUPING)
    windows = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, return_overflowing_tokens=True,
                        stride=window_overlap(tokenizer), return_offsets_mapping=True,
                        return_special_tokens_mask=True)
    text_of_window = windows.pop("overflow_to_sample_mapping").tolist()
    offsets, special = windows.pop("offset_mapping"), windows.pop("special_tokens_mask").numpy()  # padding is special
    token_ids = windows["input_ids"]  # stays on the CPU for the post-processing
    with torch.inference_mode():
        logits = recognizer.model(**windows.to(recognizer.device)).logits
    scores = logits.float().softmax(dim=-1).cpu().numpy()
    entities = [[] for _ in texts]
    for window, text in enumerate(text_of_window):
        pieces = recognizer.gather_pre_entities(texts[text], token_ids[window], scores[window],
                                                offsets[window], special[window], strategy)
        entities[text] += [e for e in recognizer.aggregate(pieces, strategy) if e["entity_group"] != "O"]
    return [recognizer.aggregate_overlapping_entities(found) for found in entities]


class NerHere(Engine):
    kind = LOCAL

    def entities(self, text: str, context: Context) -> list[dict]:
        """The text's entities, found with the requests that wait with it."""
        recognizer = self.runtime.load(self.spec, context)
        return self.runtime.run_batched(self.spec, text, lambda texts: find_entities(recognizer, texts))


class NerRemote(Engine):
    kind = REMOTE

    def entities(self, text: str, context: Context) -> list[dict]:
        """The text's entities, as the engine's token classification groups them."""
        return self.backend.call(lambda client: client.token_classification(text, aggregation_strategy=ENTITY_GROUPING),
                                 context.progress, context.deadline)


KINDS = {LOCAL: NerHere, REMOTE: NerRemote}


def ner(runtime: ModelRuntime, text: str, model: str | None = None, custom_model: str | None = None,
        context: Context | None = None):
    """Find named entities (people, organisations, places, other names) in a text.

    Args:
        text: the text to analyse, at most 10,000 characters.
        model: a model from the list (its Hugging Face id).
        custom_model: optional Hugging Face id of another token-classification model.
    """
    engine = runtime.engine(TASK, model, custom_model)
    return runtime.remembered(engine.spec, ("ner", text),
                              lambda: to_outputs(text, engine.entities(text, runtime.context(context))))


def read_entities(answer) -> Outcome:
    _, rows = answer
    return Outcome("; ".join(f"{row[0]} ({row[1]})" for row in rows),
                   Table(["entity", "type", "score", "start", "end"], rows))


ENDPOINTS = (Endpoint("ner", ner, TASK, {"text": TEXT, "model": PICKED_MODEL, "custom_model": TYPED_MODEL},
                      run=BATCHED, sample=lambda model: (EXAMPLES[0], model, ""), reads=read_entities,
                      agreement=same_rows(2, "agreement_entities")),)

MEDIA_INPUTS = False


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's token-classification: the text's entities, grouped as the pipeline groups them."""
    text = TEXT.check(request.inputs)
    return runtime.engine(TASK).entities(text, context)
