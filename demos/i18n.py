"""The UI's words in English and Simplified Chinese; the browser's language picks one (Gradio i18n).

Each text is declared where it is used, with both languages: `ui_text("key", "English", "中文")` returns what
a component takes as a label, and registers the pair for `translations()`. A key must not be one of Gradio's
own translation namespaces (image, audio, file, label, ...): the frontend then shows "[object Object]".
"""
from __future__ import annotations

import gradio as gr

_TEXTS: dict[str, tuple[str, str]] = {}


def ui_text(key: str, english: str, chinese: str) -> gr.i18n.I18nData:
    if "." in key:
        raise ValueError(f"i18n key {key!r}: the frontend reads dots as nesting")
    _TEXTS[key] = (english, chinese)  # texts with settings in them (device, limits) follow the latest app built
    return gr.i18n.I18nData(key)


def translations() -> gr.I18n:
    return gr.I18n(en={k: en for k, (en, _) in _TEXTS.items()}, zh={k: zh for k, (_, zh) in _TEXTS.items()})
