"""The one model cache shared by every tab: load once, share, evict least-recently-used under a budget."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from models.device import free_memory, module_bytes


@dataclass
class CachedModel:
    key: Hashable
    value: Any
    size_bytes: int
    load_seconds: float


class ModelCache:
    """Thread-safe: concurrent requests for one key wait for a single load; a failed load is not kept.

    Budget: at most `max_models` entries and, if given, `max_bytes` of model memory; the least recently
    used entries are dropped first. A request already holding a model keeps it alive until it finishes.
    """

    def __init__(
        self,
        max_models: int = 3,
        max_bytes: int | None = None,
        size_of: Callable[[Any], int] = module_bytes,
        release: Callable[[], None] = free_memory,
    ):
        if max_models < 1:
            raise ValueError("max_models must be at least 1")
        self.max_models = max_models
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._release = release
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, CachedModel] = OrderedDict()
        self._loading: dict[Hashable, Future] = {}
        self.load_count = 0

    def _use(self, key: Hashable) -> CachedModel | None:
        """The entry, now the most recently used, if loaded; call with the lock held."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def get_loaded(self, key: Hashable) -> Any | None:
        """The model if it is loaded, else None; never loads."""
        with self._lock:
            entry = self._use(key)
        return None if entry is None else entry.value

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._use(key)
            if entry is not None:
                return entry.value
            pending = self._loading.get(key)
            if pending is None:
                pending = self._loading[key] = Future()
                is_loader = True
            else:
                is_loader = False
        if not is_loader:
            return pending.result()  # the loader's exception, if its load failed
        return self._load(key, load, pending)

    def _load(self, key: Hashable, load: Callable[[], Any], pending: Future) -> Any:
        # Whatever fails here must fail `pending` too: the requests waiting on it would otherwise wait forever.
        try:
            # Make room first, so that the old model and the new one are not both in memory.
            self._evict(lambda entries: len(entries) >= self.max_models)
            started = time.perf_counter()
            value = load()
            entry = CachedModel(key, value, self._size_of(value), time.perf_counter() - started)
        except BaseException as error:
            with self._lock:
                del self._loading[key]
            pending.set_exception(error)
            raise
        with self._lock:
            del self._loading[key]
            self._entries[key] = entry
            self.load_count += 1
        pending.set_result(value)
        if self.max_bytes is not None:
            self._evict(lambda entries: len(entries) > 1 and self._total_bytes() > self.max_bytes)
        return value

    def _total_bytes(self) -> int:
        return sum(entry.size_bytes for entry in self._entries.values())

    def _evict(self, over_budget: Callable[[OrderedDict], bool]) -> None:
        evicted = []
        with self._lock:
            while self._entries and over_budget(self._entries):
                evicted.append(self._entries.popitem(last=False))
        if evicted:
            del evicted
            self._release()

    def unload(self, key: Hashable | None = None) -> int:
        """Drop one model (or all, with no key) and give its memory back; returns how many were dropped."""
        with self._lock:
            if key is None:
                dropped = len(self._entries)
                self._entries.clear()
            else:
                dropped = int(self._entries.pop(key, None) is not None)
        if dropped:
            self._release()
        return dropped

    def loaded(self) -> list[CachedModel]:
        """The loaded models, least recently used first."""
        with self._lock:
            return list(self._entries.values())

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries
