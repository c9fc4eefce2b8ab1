"""Where a task's model runs. Each task's engine module (engines/<task>.py) has one class per kind it runs on,
all with the same methods, in `KINDS`; the runtime picks the kind once, from the task's settings
(ModelRuntime.engine), so no endpoint asks where its model runs. A new kind (a gRPC engine, say) is one class per
task it serves and a case in ModelRuntime.kind.

Which library runs a LOCAL model (PyTorch, or CTranslate2 for speech, chat and translation) is not a kind: only
the model's files tell (a typed-in id may be of an architecture CTranslate2 does not run), so the loader decides
from them and the LOCAL engine calls the loaded model's own forward (engines/generation.py, translation.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from models.registry import ModelSpec

if TYPE_CHECKING:
    from engines.runtime import ModelRuntime
    from models.backends import Backend

LOCAL = "local"  # in this process, on the runtime's cache and torch threads
REMOTE = "remote"  # an engine elsewhere (--backend): the task's contract over HTTP


class Engine:
    """A task's model work on one model (`spec`), wherever it runs."""

    kind: str

    def __init__(self, runtime: ModelRuntime, spec: ModelSpec):
        self.runtime, self.spec = runtime, spec

    @property
    def backend(self) -> Backend:
        """The remote engine (REMOTE kinds)."""
        return self.runtime.remote(self.spec.task)

