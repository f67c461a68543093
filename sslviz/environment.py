"""Server settings read from environment variables, checked: a bad value is said aloud, never silently dropped.

An operator who sets ``SSLVIZ_MAX_JOBS=four`` gets the default *and* a warning in the server log
and on the page that shows the server's limits (the sidebar's "Server limits"), not a silent fallback.
"""

from __future__ import annotations

import logging
import math
import os

log = logging.getLogger("sslviz")

PROBLEMS: list[str] = []  # one sentence per environment variable whose value was refused, for the page


def number(name: str, default: float | None, integer: bool = False, high: float = math.inf) -> float | None:
    """The positive number in ``$name`` (a whole one with ``integer``, at most ``high``); ``default`` when unset.

    A value that is not such a number is refused with a warning (logged and kept in PROBLEMS), and ``default`` is used.
    """
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not 0 < value <= high:
        kind = "whole number" if integer else "number"
        bound = f" up to {high:g}" if math.isfinite(high) else ""
        report(f"{name}={raw[:40]!r} is not a positive {kind}{bound}; using {'the automatic choice' if default is None else f'the default {default:g}'}.")
        return default
    return value


def switch(name: str, default: bool) -> bool:
    """On or off from ``$name`` (1/0, true/false, on/off, yes/no, any case); ``default`` when unset or refused (with a warning)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "off": False, "no": False}.get(raw.strip().lower())
    if value is None:
        report(f"{name}={raw[:40]!r} is neither on (1, true, on, yes) nor off (0, false, off, no); using the default ({'on' if default else 'off'}).")
        return default
    return value


def report(problem: str) -> None:
    """Say ``problem`` (a refused setting, an unreachable cluster) once: in the server log and on the page's "Server limits"."""
    if problem not in PROBLEMS:
        PROBLEMS.append(problem)
        log.warning(problem)
