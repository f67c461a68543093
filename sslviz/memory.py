"""The process's memory: what the job watchdog measures, reusing freed memory between training steps, and handing it
back to the OS after a run."""

from __future__ import annotations

import ctypes
import functools
import os
import resource

M_ARENA_MAX, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -8, -1, -2, -3  # glibc's mallopt parameters (malloc.h)
HEAP_BYTES = 64 * 2**20  # the size of a thread arena's heaps (glibc's HEAP_MAX_SIZE on 64-bit)
KEEP_FREE_UP_TO = 2**30  # freed memory at the top of a heap that stays with the process (until release_memory)


def rss_mb() -> float | None:
    """This process's resident memory in MB right now (None where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return None


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """glibc, loaded once; None where the C library is not glibc (nothing here then changes malloc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018  (an AttributeError here means: not glibc)
        return libc
    except (OSError, AttributeError):
        return None


def _mallopt(*settings: tuple[int, int]) -> bool:
    """glibc's mallopt for each (parameter, value); True when glibc took them all."""
    libc = _glibc()
    return libc is not None and all([bool(libc.mallopt(param, value)) for param, value in settings])


def release_memory() -> None:
    """Hand freed heap memory back to the OS (glibc's malloc_trim), so the server's RSS falls after a big run."""
    if (libc := _glibc()) is not None:
        libc.malloc_trim(0)


def reuse_freed_memory() -> bool:
    """Let glibc keep the memory a training step frees for the next step, instead of handing it to the OS at once.

    Every step frees and allocates the same activation buffers again (17 MB each for block 1 of the default shapes
    SimCLR step, 34 MB at width 32). By default glibc hands much of it back on free: blocks above its mmap threshold
    (dynamic, at most 32 MB), heap tops above its trim threshold, and a thread arena's heaps that became empty. So each
    step faults that memory in again, pages the kernel zeroes: 3,000–6,000 page faults per default shapes step in a
    training thread, 16,000–39,000 and ~0.1 s of system CPU at width 32, clutter's default (getrusage). Blocks up to a
    heap's size now come from the heap, up to 1 GB stays free at a heap's top, and a heap keeps a heap's worth of
    padding, so it is not deleted: under 2,000 faults per step, and clutter's default step ~1.3× faster
    (benchmarks/RESULTS.md, "utilization"; tests/test_train.py compares the faults). The memory stays
    with the process while a run lasts (its RSS is its peak, which it reached anyway; untouched padding costs none);
    the job runner hands it back after each run (``release_memory``).

    Process-wide, idempotent; MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or MALLOC_TOP_PAD_ in the environment win.
    True when glibc took the settings; False where malloc is not glibc's, which is left as it is.
    """
    if any(os.environ.get(f"MALLOC_{name}_") for name in ("MMAP_THRESHOLD", "TRIM_THRESHOLD", "TOP_PAD")):
        return False
    return _mallopt((M_MMAP_THRESHOLD, HEAP_BYTES), (M_TRIM_THRESHOLD, KEEP_FREE_UP_TO), (M_TOP_PAD, HEAP_BYTES))


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on (unless MALLOC_ARENA_MAX already says how many).

    Streamlit runs every session's script in a thread of its own, and glibc gives threads their own heap arenas (up to
    eight per core) where freed memory stays reserved: six Contrastive sessions (AppTest, runs on a local Ray cluster)
    peaked at 1,402 MB with the default and 1,143 MB with two arenas — an ad-hoc probe, not a benchmark; the server's
    measured peak is in benchmarks/RESULTS.md, "stress-ray". True when the cap was set.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return _mallopt((M_ARENA_MAX, arenas))
