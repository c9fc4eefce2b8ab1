"""The chain tab: one task's answer handed to the next (engines/chain.py does the work). Its inputs show as the
chain's first step reads them; the other tabs' "send to" buttons fill them."""
from __future__ import annotations

import gradio as gr

from demos.common import default_of
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.chain import CHAINS, ENDPOINTS, MAX_CHAIN_CHARS, STARTS, TASK  # noqa: F401 (TASK: app.py)
from engines.runtime import ModelRuntime
from engines.translation import LANGUAGES
from messages import Term

RUN_BUTTON = "chain_run"
RESULT = "#chain-output"


def chain_label(tasks: tuple[str, ...]):
    """A chain as people read it, its tasks by their tabs' titles in the page's language."""
    terms = {name: Term(f"tab_{task}") for name, task in zip("abc", tasks)}
    return ui_text({2: "chain_of_2", 3: "chain_of_3"}[len(tasks)], variant="_".join(tasks), **terms)


def build(runtime: ModelRuntime) -> dict:
    """The tab; returns the components the other tabs send to."""
    endpoint = ENDPOINTS[0]
    first = next(iter(CHAINS))
    gr.Markdown(ui_text("chain_intro", max_chars=MAX_CHAIN_CHARS))
    with gr.Row():
        with gr.Column():
            steps = gr.Dropdown([(chain_label(chain), value) for value, chain in CHAINS.items()], value=first,
                                label=ui_text("chain_steps"), elem_id="chain-steps")
            text = gr.Textbox(label=ui_text("chain_text"), lines=4, visible=False)
            audio = gr.Audio(label=ui_text("chain_audio"), sources=["upload", "microphone"], type="filepath")
            image = gr.Image(label=ui_text("chain_image"), type="filepath", sources=["upload"], visible=False)
            languages = [(name, code) for code, name in LANGUAGES.items()]  # the translation tab's
            with gr.Row():
                source = gr.Dropdown(languages, value=default_of(endpoint, "source_language"),
                                     label=ui_text("translation_from"))
                target = gr.Dropdown(languages, value=default_of(endpoint, "target_language"),
                                     label=ui_text("translation_to"))
            threshold = gr.Slider(0.05, 1.0, value=default_of(endpoint, "threshold"), step=0.05,
                                  label=ui_text("detection_threshold"), visible=False)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            answer = gr.Textbox(label=ui_text("chain_answer"), lines=4, interactive=False, buttons=["copy"],
                                elem_id="chain-output")
            table = gr.Dataframe(headers=[" "], label=ui_text("chain_table"), interactive=False, wrap=True,
                                 elem_id="chain-table")
            with gr.Accordion(ui_text("chain_each_step"), open=False):
                report = gr.JSON(label=ui_text("chain_each_step"), elem_id="chain-report")
            message = message_area()

    def shown_inputs(chain: str):
        """Only the input the chain's first step reads, and the settings its steps take."""
        tasks = CHAINS.get(chain, ())
        start = STARTS.get(tasks[0]) if tasks else None
        languages = "translation" in tasks or "speech_to_text" in tasks
        return (gr.update(visible=start == "text"), gr.update(visible=start == "audio"),
                gr.update(visible=start == "image"), gr.update(visible=languages), gr.update(visible=languages),
                gr.update(visible="object_detection" in tasks))

    steps.change(shown_inputs, [steps], [text, audio, image, source, target, threshold], api_visibility="private",
                 queue=False)
    serve(endpoint, runtime, run.click, [steps, text, audio, image, source, target, threshold],
          [answer, table, report], message)
    return {"steps": steps, "image": image, "text": text}
