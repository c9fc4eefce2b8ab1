"""Every text the hub shows to people, one catalog per language: messages/<code>.toml.

A catalog is one flat TOML table, `key = "text with {parameters}"`; `say(key, language, **parameters)` fills in
the parameters with str.format, so format specs belong to the text (`{max_chars:,}`) and callers pass raw values.
A parameter may itself be a catalog text, `Term(key)`, said in the same language (a setting's name in a
"must be a number" message, say). English (en.toml) is the reference: every key is there; another language
that lacks a key says it in English. Adding a language is one more file here, named by its language code.

Stdlib only: the command line and models/ read it without gradio or torch.
"""
from __future__ import annotations

import contextvars
import functools
from pathlib import Path
from typing import NamedTuple

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


DEFAULT = "en"
FOLDER = Path(__file__).resolve().parent

# The language of the request being handled ("en" outside requests). demos.endpoints sets it for the duration of
# each handler call; models.torch_threads.submit copies context variables, so model work sees it too.
request_language: contextvars.ContextVar[str] = contextvars.ContextVar("request_language", default=DEFAULT)


def current_language() -> str:
    """The language of the request being handled, "en" outside one."""
    return request_language.get()


class Term(NamedTuple):
    """A parameter that is itself a catalog text, said in the language of the message it is put in."""

    key: str


def _languages(folder: Path) -> tuple[str, ...]:
    codes = sorted(path.stem for path in folder.glob("*.toml"))
    if DEFAULT not in codes:
        raise RuntimeError(f"{folder} has no {DEFAULT}.toml, the catalog every other language falls back to")
    return (DEFAULT, *(code for code in codes if code != DEFAULT))


LANGUAGES: tuple[str, ...] = _languages(FOLDER)


def load_folder(folder: Path) -> None:
    """Read the catalogs from `folder` from now on (tests point it at a folder of their own, and back)."""
    global FOLDER, LANGUAGES
    FOLDER, LANGUAGES = Path(folder), _languages(Path(folder))
    catalog.cache_clear()


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The language's texts by key. A key written twice in one file, or a key that is not a plain string
    (a dotted key makes a table), is an error that names the file."""
    if language not in LANGUAGES:
        raise KeyError(f"no catalog for language {language!r}; there are {', '.join(LANGUAGES)}")
    path = FOLDER / f"{language}.toml"
    try:
        with path.open("rb") as file:
            texts = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:  # a duplicate key among them: "Cannot overwrite a value"
        raise ValueError(f"{path}: {error}") from error
    for key, text in texts.items():
        if not isinstance(text, str):
            raise ValueError(f"{path}: {key!r} is not a text (write keys without dots, texts in quotes)")
    return texts


def say(key: str, language: str = DEFAULT, **params) -> str:
    """The text of `key` in `language` (in English where that language lacks it), its parameters filled in.
    A key English lacks is a programming error: KeyError."""
    english = catalog(DEFAULT)[key]
    text = english if language == DEFAULT else catalog(language).get(key, english)
    return text.format(**{name: _said(value, language) for name, value in params.items()})


def _said(value, language: str):
    """A parameter as said in `language`: a Term's text, an error's words, or the value itself."""
    if isinstance(value, Term):
        return say(value.key, language)
    if isinstance(value, Said):
        return value.text(language)
    return value


class Said:
    """For an error whose words are a catalog text: `key` and `params` set by its __init__; `text(language)` says it
    in any catalog language. Pickled (ZeroGPU hands errors between processes) as what it was built from."""

    key: str
    params: dict

    def text(self, language: str = DEFAULT) -> str:
        return say(self.key, language, **self.params)

    def __reduce__(self):
        return _rebuilt, (type(self), self.key, self.params)


def _rebuilt(cls, key: str, params: dict):
    return cls(key, **params)


def language_of_header(accept_language: str | None) -> str:
    """The browser's first language if it has a catalog, matched whole or by its primary subtag ("zh-CN" ->
    "zh"), else "en". Only the first: the page itself speaks the browser's first language (Gradio reads
    navigator.language), and its messages must speak the same one. API clients usually send none."""
    first = (accept_language or "").split(",")[0].partition(";")[0].strip().lower()
    for code in (first, first.split("-")[0]):
        if code in LANGUAGES:
            return code
    return DEFAULT
