"""Answers to repeated requests, kept so that the same request again skips the model (and its load).

Only tabs whose answer is decided by the request and the model alone use it: classification, detection, digits,
NER, sentiment, translation and GAN sampling with a seed. A request's key is the model's cache key and what the
tab read from the request after checking it: texts, numbers and an upload's content hash, never its path (Gradio
gives every upload a new one); see ModelRuntime.remembered. A refused request raises before it has a key, so it
is never kept.

The cache is bounded in bytes, least recently used out first. A hit answers faster than a miss, which tells a
visitor that someone sent the same input before, so on a public server it is off unless the operator turns it
on (models.settings.Settings.result_cache_bytes).
"""
from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any


def content_hash(path: Path | str) -> str:
    """The file's content, hashed (an upload is at most --max-upload-mb: read in bounded chunks)."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def approximate_bytes(value: Any) -> int:
    """What keeping `value` costs, near enough to bound the cache: pictures by their pixels, containers by
    their items."""
    if hasattr(value, "getbands") and hasattr(value, "size"):  # a PIL image, without importing PIL here
        width, height = value.size
        return width * height * len(value.getbands())
    if hasattr(value, "nbytes"):  # numpy arrays, tensors
        return int(value.nbytes)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(approximate_bytes(k) + approximate_bytes(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sys.getsizeof(value) + sum(approximate_bytes(item) for item in value)
    return sys.getsizeof(value)


class ResultCache:
    def __init__(self, max_bytes: int):
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def answer(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The answer kept for `key`, else compute()'s (kept when it fits). Two identical requests at once may
        both compute (on a batched tab, in one forward)."""
        if self.max_bytes == 0:
            return compute()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0]
            self.misses += 1
        result = compute()
        size = approximate_bytes(result)
        if size <= self.max_bytes:
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = (result, size)
                    self._bytes += size
                while self._bytes > self.max_bytes:
                    _, (_, evicted) = self._entries.popitem(last=False)
                    self._bytes -= evicted
        return result

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
