"""One request as the engines see it, made once when it starts (demos/endpoints.py for the hub's API and page,
serve/workers.py for a worker) and handed to every step of its work: one deadline that every engine kind honours
(a torch thread's batches, generate()'s max_time, a diffusion step, a remote engine's request and stream), where
its progress goes, and how a warning reaches the person."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from messages import current_language, say

log = logging.getLogger("demo_hub")
ProgressFn = Callable[[float, str], None]


@dataclass
class Context:
    timeout_s: float  # the time its model work was given (the messages name it)
    deadline: float  # time.monotonic() past which its model work stops (a model's first load is not counted)
    progress: ProgressFn | None = None
    # Said to the person beside the answer (the page shows a toast); a worker's answer has no place for one.
    warn: Callable[[str], None] = field(default=log.info)
    language: str = field(default_factory=current_language)

    @classmethod
    def starting(cls, timeout_s: float, progress: ProgressFn | None = None,
                 warn: Callable[[str], None] | None = None) -> Context:
        return cls(timeout_s, time.monotonic() + timeout_s, progress, warn or log.info)

    def anew(self) -> Context:
        """The same request's time limit, progress and warnings, with a deadline of its own from now: one part of
        a request that runs several endpoints' work (a comparison's side, a chain's step)."""
        return Context.starting(self.timeout_s, self.progress, self.warn)

    def loaded_a_model(self) -> None:
        """Its time starts again once a model it waited for is loaded: the time limit is for the model's work."""
        self.deadline = time.monotonic() + self.timeout_s

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def report(self, fraction: float, key: str, **params) -> None:
        """Progress, said in the request's language."""
        if self.progress is not None:
            self.progress(fraction, say(key, self.language, **params))

    def warning(self, key: str, **params) -> None:
        self.warn(say(key, self.language, **params))
