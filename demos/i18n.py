"""The page's words in every language of messages/ (English, Simplified Chinese, ...); the browser's language
picks one (Gradio i18n, translated in the browser).

`ui_text("key", **params)` returns what a component takes as a label and records the parameters its text is
formatted with; `translations()` gives Gradio every recorded text in every language. A key must not be one of
Gradio's own translation namespaces (image, audio, file, label, ...): the frontend then shows "[object Object]".

A text's parameters belong to its key, for the whole process: a key registered again with other parameters
replaces the earlier ones, so a text with settings in it (the device, limits) follows the latest app built. A
text used with different parameters on one page takes a `variant` (one page key per variant).
"""
from __future__ import annotations

import gradio as gr

import messages

# The top-level names of Gradio's own frontend translations (gradio/templates: its en.json chunk), 6.31.
GRADIO_NAMESPACES = frozenset({
    "_name", "annotated_image", "audio", "blocks", "chat_interface", "chatbot", "checkbox", "code", "color_picker",
    "common", "dataframe", "dropdown", "errors", "file", "highlighted_text", "image", "image_editor", "label",
    "login", "number", "plot", "radio", "slider", "status", "upload_text", "video",
})

# page key -> (catalog key, parameters)
_TEXTS: dict[str, tuple[str, dict]] = {}


def check_key(key: str) -> None:
    if "." in key:
        raise ValueError(f"i18n key {key!r}: the frontend reads dots as nesting")
    if key in GRADIO_NAMESPACES:
        raise ValueError(f"i18n key {key!r} is one of Gradio's own namespaces: the frontend would show an object")


def ui_text(key: str, variant: str | None = None, **params) -> gr.i18n.I18nData:
    """The catalog text `key`, with `params`, as a label the browser shows in its language."""
    messages.say(key, **params)  # an unknown key or a missing parameter fails here, when the page is built
    page_key = f"{key}_{variant}" if variant else key
    check_key(page_key)
    _TEXTS[page_key] = (key, params)
    return gr.i18n.I18nData(page_key)


# Texts Gradio's own frontend asks for and its catalogs lack, 6.31: a screen reader's "common.complete" after every
# run (and "common.upload"), in no language; the drawing pads' toolbar ("image_editor"), in no Chinese.
# Gradio's page merges the app's translations into its own namespace by namespace.
GRADIO_GAPS = {"common": ("complete", "upload"),
               "image_editor": ("add_layer", "brush", "brush_size", "clear_canvas", "color", "confirm_crop", "crop",
                                "erase", "eraser_size", "fit_to_screen", "layer", "layers", "pan", "paste", "redo",
                                "resize", "save_changes", "select_draw_tool", "show_layers", "upload",
                                "upload_image", "webcam", "zoom_in", "zoom_out")}


def translations() -> gr.I18n:
    return gr.I18n(**{
        language: {**{page_key: messages.say(key, language, **params) for page_key, (key, params) in _TEXTS.items()},
                   **{space: {key: messages.say(f"gradio_{space}_{key}", language) for key in keys}
                      for space, keys in GRADIO_GAPS.items()}}
        for language in messages.LANGUAGES
    })
