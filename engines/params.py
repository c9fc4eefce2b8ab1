"""What each input of an endpoint may be, declared once with its Endpoint. `bound()` checks every request against
it before any model code runs (before the request waits for a torch thread), so a value of the wrong type or out
of range is refused in plain words that name the input and what it may be, whatever the API sent: dicts, lists,
null, NaN, 400-digit numbers, lone surrogates."""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import messages
from engines.refusal import refuse

# C0/C1 control characters other than tab and newline: they only confuse tokenizers and displays.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Halves of UTF-16 pairs standing alone: JSON can carry them, UTF-8 cannot, and tokenizers fail on them.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_NAME_CHARS = 200  # a model's id or a picker's choice


class Param(Protocol):
    name: str  # the catalog key of the input's name (param_...), said in the message's language

    def check(self, value):
        """The value as the endpoint's function receives it, or a Refusal that says what the input may be."""


def refuse_lone_surrogates(text: str, name: str) -> None:
    if _LONE_SURROGATE.search(text):
        raise refuse("refuse_lone_surrogates", name=messages.Term(name))


@dataclass(frozen=True)
class Text:
    """Text to run a model on: control characters taken out; empty, over `max_chars` or (where each line is a
    request of its own) over `max_lines` non-blank lines refused."""

    name: str
    max_chars: int
    max_lines: int | None = None

    def check(self, value):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise refuse("refuse_no_text")
        if not isinstance(value, str):
            raise refuse("refuse_not_text", name=messages.Term(self.name))
        if len(value) > self.max_chars:
            raise refuse("refuse_text_too_long", length=len(value), max_chars=self.max_chars)
        refuse_lone_surrogates(value, self.name)
        value = _CONTROL.sub(" ", value)
        if not value.strip():
            raise refuse("refuse_no_text")
        if self.max_lines is not None:
            lines = sum(1 for line in value.splitlines() if line.strip())
            if lines > self.max_lines:
                raise refuse("refuse_too_many_lines", lines=lines, max_lines=self.max_lines)
        return value


@dataclass(frozen=True)
class Name:
    """A short name that may be left out (None or ""): a model picked from a list, or an id typed in. Which
    names exist is the runtime's to say (runtime.spec); here only its shape."""

    name: str

    def check(self, value):
        if value is None:
            return ""
        if not isinstance(value, str) or len(value) > MAX_NAME_CHARS:
            raise refuse("refuse_not_a_name", name=messages.Term(self.name), max_chars=MAX_NAME_CHARS)
        refuse_lone_surrogates(value, self.name)
        return value


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of choices (a language, a task)."""

    name: str
    choices: Sequence[str]

    def check(self, value):
        if not isinstance(value, str) or value not in self.choices:
            raise self.refusal()
        return value

    def refusal(self):
        return refuse("refuse_unknown_choice", name=messages.Term(self.name), choices=", ".join(self.choices))


@dataclass(frozen=True)
class SomeOf(OneOf):
    """At least one of a fixed set of choices, as a list; returned in the set's order, each once."""

    def check(self, value):
        if not isinstance(value, (list, tuple)):
            raise self.refusal()
        for item in value:
            super().check(item)
        if not value:
            raise refuse("refuse_none_chosen", name=messages.Term(self.name))
        return [choice for choice in self.choices if choice in value]


def _number(value, name: str) -> int | float:
    """A finite int or float (a 400-digit int is finite, and compared exactly; bools are not numbers)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) \
            or isinstance(value, float) and not math.isfinite(value):
        raise refuse("refuse_not_a_number", name=messages.Term(name))
    return value


@dataclass(frozen=True)
class Real:
    """A number within [low, high] (a threshold, a guidance scale)."""

    name: str
    low: float
    high: float

    def check(self, value):
        number = _number(value, self.name)
        if not self.low <= number <= self.high:
            raise refuse("refuse_out_of_range", name=messages.Term(self.name), low=self.low, high=self.high)
        return float(number)


@dataclass(frozen=True)
class Whole(Real):
    """A whole number within [low, high] (a count, a seed, a number of steps); 2.0 is whole, 2.5 is not."""

    def check(self, value):
        number = _number(value, self.name)
        if not self.low <= number <= self.high or number != int(number):
            raise refuse("refuse_not_a_whole_number", name=messages.Term(self.name), low=self.low, high=self.high)
        return int(number)


@dataclass(frozen=True)
class Upload:
    """A file the client uploaded (Gradio's file object, or its path), or, unless `required`, nothing. That it is
    one of Gradio's uploads and no other file is checked where it is opened (engines/media.py): reading it is the
    only way to know what it holds."""

    name: str
    required: bool = False

    def check(self, value):
        if self.required and (not value or isinstance(value, dict) and not value.get("path")):
            raise refuse("refuse_no_upload")
        return value


@dataclass(frozen=True)
class Conversation:
    """The page's chat so far: a list of messages, or nothing (its size is bounded where it is read)."""

    name: str

    def check(self, value):
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise refuse("refuse_history_not_a_list")
        return value


@dataclass(frozen=True)
class Optional:
    """An input that may be left out (None or blank: None), else checked as `param` checks it."""

    param: Param

    @property
    def name(self) -> str:
        return self.param.name

    def check(self, value):
        if value is None or isinstance(value, str) and not value.strip():
            return None
        return self.param.check(value)


# The two inputs of every model picker (demos/common.py draws it): a listed model, and an id typed in.
PICKED_MODEL = Name("param_model")
TYPED_MODEL = Name("param_custom_model")
