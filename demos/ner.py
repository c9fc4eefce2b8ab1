"""Named-entity recognition: who, where and which organisation a text mentions."""
from __future__ import annotations

import json

import gradio as gr
import torch

from demos.common import model_picker
from demos.endpoints import BATCHED, Endpoint, message_area, serve
from demos.i18n import ui_text
from demos.params import PICKED_MODEL, TYPED_MODEL, Text
from models.hf import ENTITY_GROUPING
from models.runtime import ModelRuntime
from tasks import task

TASK = "ner"
RUN_BUTTON = "ner_find_entities"  # the catalog key of the button that runs it
RESULT = "#ner-output"  # where its result shows (a CSS selector)
MAX_CHARS = 10_000
TABLE_HEADERS = ["entity", "type", "score", "start", "end"]
EXAMPLES = json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]


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


def ner(runtime: ModelRuntime, text: str, model: str | None = None, custom_model: str | None = None, progress=None):
    """Find named entities (people, organisations, places, other names) in a text.

    Args:
        text: the text to analyse, at most 10,000 characters.
        model: a model from the list (its Hugging Face id).
        custom_model: optional Hugging Face id of another token-classification model.
    """
    spec = runtime.spec(TASK, model, custom_model)
    backend = runtime.remote(TASK)
    if backend is not None:
        return to_outputs(text, backend.call(
            lambda client: client.token_classification(text, aggregation_strategy=ENTITY_GROUPING), progress))
    return runtime.remembered(spec, ("ner", text), lambda: to_outputs(text, entities_here(runtime, spec, text,
                                                                                            progress)))


def entities_here(runtime: ModelRuntime, spec, text: str, progress=None) -> list[dict]:
    """The text's entities, found by the model in this process (with the requests that wait with it)."""
    recognizer = runtime.load(spec, progress)
    return runtime.run_batched(spec, text, lambda texts: find_entities(recognizer, texts))


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


ENDPOINTS = (Endpoint("ner", ner, TASK, {"text": Text("param_text", MAX_CHARS), "model": PICKED_MODEL,
                                         "custom_model": TYPED_MODEL},
                      run=BATCHED, sample=lambda model: (EXAMPLES[0], model, "")),)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("ner_intro", max_chars=MAX_CHARS))
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label=ui_text("ner_text"), lines=6, placeholder=ui_text("ner_text_hint"))
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            highlighted = gr.HighlightedText(label=ui_text("ner_entities"), show_legend=True, elem_id="ner-output")
            table = gr.Dataframe(headers=TABLE_HEADERS, label=ui_text("ner_details"), interactive=False)
            message = message_area()
    gr.Examples(examples=[[example] for example in EXAMPLES], inputs=[text], label=ui_text("examples_label"))

    serve(ENDPOINTS[0], runtime, run.click, [text, model, custom_model], [highlighted, table], message)

