"""One memory budget for every dataset this process keeps loaded, shared by all loaders.

Loading is cheap next to training (a generated split takes 0.05–0.6 s, a downloaded one is read from disk), but
a server with many sessions on different seeds used to keep up to eight splits *per loader* (an entry count, not
bytes): 38 classroom sessions on Ray drove the Streamlit process past 1 GB (benchmarks/RESULTS.md, "stress-ray").
Here the loaders share one least-recently-used store bounded in megabytes (``SSLVIZ_DATA_CACHE_MB``, default 128);
the entry used last is always kept, even when it alone is over the budget, so a big dataset is not re-read per call.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from typing import Any, Callable, TypeVar

import numpy as np
import torch

from sslviz import environment

BUDGET_MB = environment.number("SSLVIZ_DATA_CACHE_MB", 128, high=1e6)
F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_store: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()  # (loader, args) -> (value, bytes), least recently used first


def nbytes(value: Any) -> int:
    """Bytes held by the tensors, arrays and strings in ``value`` (a dataset, a dict or tuple of arrays, ...)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


def held_mb() -> float:
    """Megabytes the store holds now."""
    with _lock:
        return sum(size for _, size in _store.values()) / 2**20


def _keep(key: tuple, value: Any) -> None:
    size = nbytes(value)
    with _lock:
        _store.pop(key, None)
        total = sum(s for _, s in _store.values())
        while _store and total + size > BUDGET_MB * 2**20:  # oldest first; the new entry stays even when alone over budget
            _, (_, freed) = _store.popitem(last=False)
            total -= freed
        _store[key] = (value, size)


def memoized(loader: F) -> F:
    """``loader`` with its results kept in the shared store (arguments must be hashable, as for ``functools.lru_cache``).

    The result is the same object while it stays in the store; ``loader.cache_clear()`` forgets this loader's entries.
    """
    name = f"{loader.__module__}.{loader.__qualname__}"

    @functools.wraps(loader)
    def wrapper(*args: Any) -> Any:
        key = (name, *args)
        with _lock:
            if key in _store:
                _store.move_to_end(key)
                return _store[key][0]
        value = loader(*args)  # outside the lock: two sessions may load different datasets at once
        _keep(key, value)
        return value

    def cache_clear() -> None:
        with _lock:
            for key in [k for k in _store if k[0] == name]:
                del _store[key]

    wrapper.cache_clear = cache_clear  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
