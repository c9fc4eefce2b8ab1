"""The models side of a running hub: settings, device, dtype and the one cache, with a single load()."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import torch

from engines.context import Context
from engines.kinds import LOCAL, REMOTE, Engine
from models.backends import Backend, RemoteError
from models.batching import DynamicBatcher
from models.cache import CachedModel, ModelCache
from models.ctranslate2_models import converted_dir, converts
from models.device import pick_device, pick_dtype
from models.errors import ModelLoadError, load_failure, quoted
from models.hub_files import in_local_cache
from models.loaders import locate, refuse_other_kinds
from models.quantization import QUANTIZED_TASKS, quantize_int8
from models.registry import REMOTE as REMOTE_SOURCE
from models.registry import ModelSpec, is_hub_id
from models.result_cache import ResultCache, content_hash
from models.settings import Settings
from models.torch_threads import shared_torch_threads
from tasks import custom_spec, default_spec, example_hub_id, override_spec, specs_for, task

log = logging.getLogger("demo_hub")


@dataclass
class Noted:
    """What a request's work did, as noting() saw it: the models its engines ran (the workbench shows their
    memory), and whether an answer came from the result cache (its time is then no model's)."""

    models: list[ModelSpec] = field(default_factory=list)
    cached: bool = False


_noted: ContextVar[Noted | None] = ContextVar("noted", default=None)


class ModelKey(NamedTuple):
    """What makes two loaded models distinct."""

    task: str  # each task has its own loader
    source: str
    revision: str | None
    device: str
    dtype: str
    name: str  # the source as clients see it (models.registry.ModelSpec.name)


class ModelRuntime:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.device = pick_device(self.settings.device)
        self.dtype = pick_dtype(self.device)
        budget = self.settings.memory_budget_gb
        self.cache = ModelCache(
            max_models=self.settings.max_loaded_models,
            max_bytes=None if budget is None else int(budget * 2**30),
        )
        self.batcher = DynamicBatcher(self.settings.max_batch_size)
        self.results = ResultCache(self.settings.result_cache_bytes)
        self.torch_threads = shared_torch_threads(self.settings.device_concurrency)
        self._load_lock = threading.Lock()
        self._overrides = {task: override_spec(task, source) for task, source in self.settings.model_overrides.items()}
        self.backends = {task: Backend(task, url, self.settings.backend_token_env, self.settings.request_timeout_s)
                         for task, url in self.settings.backends.items()}

    def remote(self, task: str) -> Backend | None:
        """The engine elsewhere that runs the task's model (--backend), or None: it runs here."""
        return self.backends.get(task)

    def kind(self, task: str) -> str:
        """Where the task's model runs (engines/kinds.py), from its settings: chosen here, once."""
        return REMOTE if task in self.backends else LOCAL

    def engine(self, task: str, model: str | None = None, custom_id: str | None = None) -> Engine:
        """The engine that runs the model a request asks for (`spec`'s arguments), of the task's kind."""
        import importlib

        kinds = importlib.import_module(f"engines.{task}").KINDS
        engine = kinds[self.kind(task)](self, self.spec(task, model, custom_id))
        noted = _noted.get()
        if noted is not None:
            noted.models.append(engine.spec)
        return engine

    @staticmethod
    @contextmanager
    def noting() -> Iterator[Noted]:
        """What the work within the block (on this thread, and the torch threads it hands work to) did; a block
        within another's tells the outer one too (a comparison's two runs, each noted on its own)."""
        noted, outer = Noted(), _noted.get()
        token = _noted.set(noted)
        try:
            yield noted
        finally:
            _noted.reset(token)
            if outer is not None:
                outer.models += noted.models
                outer.cached = outer.cached or noted.cached

    def memory_mb(self, spec: ModelSpec) -> float | None:
        """What the model takes in the cache, as the Models panel shows it; None where it is not loaded here."""
        key = self.cache_key(spec)
        return next((round(entry.size_bytes / 2**20, 1) for entry in self.loaded() if entry.key == key), None)

    def context(self, context: Context | None = None) -> Context:
        """The request's context, or one for a call made without (a test, the load test): the server's time."""
        return context or Context.starting(self.settings.request_timeout_s)

    def offers_custom_ids(self, task: str) -> bool:
        """Whether a tab offers a field for any Hub id: not where the operator turned them off, nor where the task
        runs on a remote engine (which serves its one model)."""
        return self.settings.custom_models and self.kind(task) == LOCAL

    def choices(self, task: str, here: bool = False) -> list[ModelSpec]:
        """The models a tab offers, the one it uses by default first: the operator's --model if given, else the
        task record's default, unless that is not downloaded yet and the project ships weights that work offline.
        A task on a remote engine offers that engine alone, unless the model must run `here` (the lab measures it)."""
        backend = None if here else self.remote(task)
        if backend is not None:
            return [replace(default_spec(task), source=f"{REMOTE_SOURCE}{backend.shown}",
                            label=f"{backend.shown} · remote", size_mb=0, revision=None, pair=None)]
        specs = sorted(specs_for(task), key=lambda s: not s.default)
        override = self._overrides.get(task)
        if override:
            return [override] + [s for s in specs if s.source != override.source]
        if any(s.bundled for s in specs) and not in_local_cache(specs[0].source):
            specs.sort(key=lambda s: not s.bundled)
        return specs

    def default(self, task: str) -> ModelSpec:
        """The model a request that names none gets."""
        return self.choices(task)[0]

    def configured_default(self, task: str) -> ModelSpec:
        """The operator's --model, else the task's default, whether downloaded or not: what --download fetches."""
        return self._overrides.get(task) or default_spec(task)

    def spec(self, task: str, name: str | None = None, custom_id: str | None = None, here: bool = False) -> ModelSpec:
        """The model a request asks for: a typed-in id wins over the picker's `name` (the model as clients name
        it, ModelSpec.name; its label is accepted too); nothing picked -> default."""
        custom_id = (custom_id or "").strip()
        if custom_id:
            if self.remote(task) is not None and not here:
                raise RemoteError("load_custom_remote", backend=self.remote(task).shown)
            if not self.settings.custom_models:
                raise ModelLoadError("load_custom_ids_off")
            if not is_hub_id(custom_id):
                raise ModelLoadError("load_not_a_hub_id", model_id=quoted(custom_id), example=example_hub_id(task))
            return custom_spec(task, custom_id)
        for spec in self.choices(task, here):
            if name in (None, "", spec.label, spec.name):
                return spec
        raise ModelLoadError("load_unknown_model", model=quoted(name))

    def precision(self, task: str) -> str:
        """"int8" for the tasks --quantize int8 quantises on a CPU, else the device's dtype ("float32")."""
        if self.settings.quantize == "int8" and self.device == "cpu" and task in QUANTIZED_TASKS:
            return "int8"
        return str(self.dtype).removeprefix("torch.")

    def cache_key(self, spec: ModelSpec) -> ModelKey:
        return ModelKey(spec.task, spec.source, spec.revision, self.device, self.precision(spec.task), spec.name)

    def load(self, spec: ModelSpec, context: Context | None = None) -> Any:
        """The ready model for `spec`, loaded once and then shared by every request and tab (on a torch thread,
        like all model work: see models/torch_threads.py)."""
        key = self.cache_key(spec)
        loaded = self.cache.get_loaded(key)
        if loaded is not None:  # the usual case needs no trip to a torch thread
            return loaded
        loaded = self.torch_threads.run(self._load, spec, key, context)
        if context is not None:
            context.loaded_a_model()
        return loaded

    def remembered(self, spec: ModelSpec, request: tuple, answer: Callable[[], Any]) -> Any:
        """answer()'s result for `request` (what the tab read from it; a Path stands for its file's content) on
        `spec`'s model, or the one given to the same request before (models/result_cache.py): a hit loads and
        runs nothing."""
        if self.results.max_bytes == 0:
            return answer()
        try:
            key = (self.cache_key(spec), *(content_hash(part) if isinstance(part, Path) else part for part in request))
        except OSError:  # an upload that cannot be read: the tab's own reading of it says so in its words
            return answer()
        computed = []
        result = self.results.answer(key, lambda: computed.append(True) or answer())
        noted = _noted.get()
        if noted is not None and not computed:
            noted.cached = True
        return result

    def run_batched(self, spec: ModelSpec, item: Any, forward: Callable[[list], list]) -> Any:
        """`forward`'s result for `item`, in one call with the requests for the same model that wait with it
        (models/batching.py), on a torch thread."""
        return self.batcher.run(self.cache_key(spec), item, lambda items: self.torch_threads.run(forward, items))

    def _load(self, spec: ModelSpec, key: ModelKey, context: Context | None) -> Any:
        if context is not None and key not in self.cache:
            context.report(0.0, "progress_loading", name=spec.name)
        return self.cache.get(key, lambda: self._build(spec, context))

    def _build(self, spec: ModelSpec, context: Context | None) -> Any:
        # One load at a time, whichever tabs ask: first imports of transformers/diffusers are not thread-safe
        # (with several torch threads), and one at a time also bounds the memory peak.
        with self._load_lock:
            path = locate(spec, offline=self.settings.offline, allow_pickle=self.settings.allow_pickle,
                          max_download_bytes=int(self.settings.max_custom_model_gb * 2**30))
            refuse_other_kinds(spec, path, task(spec.task).kinds)
            try:
                if self.settings.ctranslate2 and task(spec.task).converts and converts(path):
                    path = self._converted(spec, path, context)
                loaded = task(spec.task).loader(spec, path, self.device, self.dtype)
                if self.precision(spec.task) == "int8" and isinstance(getattr(loaded, "model", None), torch.nn.Module):
                    quantize_int8(loaded.model)  # (CTranslate2's models are int8 on a CPU of their own accord)
                return loaded
            except ModelLoadError:  # the loader's own plain words
                raise
            except Exception as error:  # any other failure to build is a load error too, and is not cached
                # The details stay in the server log: they can name files on the server.
                log.error("loading %s from %s failed", spec.name, path, exc_info=error)
                raise load_failure(error, spec.name) from error

    def _converted(self, spec: ModelSpec, path: Path, context: Context | None) -> Path:
        """The checkpoint in CTranslate2's format (converted on its first load), or as it is where the conversion
        fails: PyTorch runs it then, and the Models tab's precision says which ran."""
        if context is not None:
            context.report(0.0, "progress_converting", name=spec.name)
        try:
            return converted_dir(path, spec.name, self.device)
        except Exception as error:  # whatever the converter met: the model still answers, on PyTorch
            log.warning("CTranslate2 could not convert %s (%s: %s); it runs on PyTorch", spec.name,
                        type(error).__name__, error)
            return path

    def loaded(self) -> list[CachedModel]:
        return self.cache.loaded()

    def unload(self, key: ModelKey | None = None) -> int:
        return self.cache.unload(key)
