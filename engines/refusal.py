"""A request refused in plain words: about the request itself, not a fault, so shown to the person and not logged.
The door it leaves by says it in the caller's language: the tab's message area or the API's error
(demos/endpoints.py), a worker's 422 (serve/contract.py), an HTTP guard's 4xx (web/)."""
from __future__ import annotations

import messages

SOMETHING_WENT_WRONG = "error_something_went_wrong"  # said for a fault: its details stay in the server log


class Refusal(messages.Said, Exception):
    """Its message is the English text; `text(language)` says it in any catalog language."""

    def __init__(self, key: str, **params):
        super().__init__(messages.say(key, **params))
        self.key, self.params = key, params


def refuse(key: str, **params) -> Refusal:
    return Refusal(key, **params)
