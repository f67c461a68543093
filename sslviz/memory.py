"""The process's memory: what the job watchdog measures, and handing freed memory back to the OS after a run."""

from __future__ import annotations

import ctypes
import os
import resource

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def rss_mb() -> float | None:
    """This process's resident memory in MB right now (None where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return None


def release_memory() -> None:
    """Hand freed heap memory back to the OS (glibc's malloc_trim), so the server's RSS falls after a big run."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on (unless MALLOC_ARENA_MAX already says how many).

    Streamlit runs every session's script in a thread of its own, and glibc gives threads their own heap arenas (up to
    eight per core) where freed memory stays reserved: six Contrastive sessions (AppTest, runs on a local Ray cluster)
    peaked at 1,402 MB with the default and 1,143 MB with two arenas — an ad-hoc probe, not a benchmark; the server's
    measured peak is in benchmarks/RESULTS.md, "stress-ray". True when the cap was set.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc
        return False
