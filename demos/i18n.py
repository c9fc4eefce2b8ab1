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


def every_language(key: str, separator: str = " / ", **params) -> str:
    """The text in every catalog language at once, joined by `separator` (the same text once), for the places
    Gradio does not translate."""
    return separator.join(dict.fromkeys(messages.say(key, language, **params) for language in messages.LANGUAGES))


def translations() -> gr.I18n:
    return gr.I18n(**{
        language: {page_key: messages.say(key, language, **params) for page_key, (key, params) in _TEXTS.items()}
        for language in messages.LANGUAGES
    })
