"""How much of the machine a default SimCLR training step uses, and where the time goes.

    python benchmarks/utilization.py

Counts the model FLOPs of one training step (forward + backward, torch.utils.flop_counter),
times the step, and divides by the float32 matmul peak measured in the same run
(a 2048×2048 matmul). Also splits the step into augmentation, forward+backward and the rest,
and repeats the measurement for wider encoders, because tiny convolutions are bound by
memory traffic and per-op overhead, not by arithmetic. Page faults and system CPU per step are
counted too, and compared with glibc's default malloc settings (``--malloc glibc``) in fresh
processes, because sslviz's (memory.reuse_freed_memory) cannot be undone in a process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable, TypeVar

import torch
from _results import write_section
from torch.utils.flop_counter import FlopCounterMode

from sslviz import augment, data, losses, memory, methods, optim
from sslviz.train import TrainConfig, configure_threads

T = TypeVar("T")


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


TRAIN = TrainConfig(**methods.train_defaults("simclr", "shapes"))  # the default run's batch size and optimiser settings
TAU = methods.default_config("simclr", "shapes").temperature  # and its InfoNCE temperature
# Widths whose row is a dataset's default SimCLR step (the same batch, lr and τ as shapes', on 32×32 colour images): the label.
DEFAULT_OF = {methods.default_config("simclr", d).width: f" ({d} default)" for d in ("clutter", "shapes")
              if methods.train_defaults("simclr", d) == methods.train_defaults("simclr", "shapes")
              and methods.default_config("simclr", d).temperature == TAU and data.info(d).size == data.info("shapes").size
              and data.info(d).channels == data.info("shapes").channels}


def measure(width: int, images: torch.Tensor, steps: int = 12) -> dict:
    torch.manual_seed(0)
    method = methods.create("simclr", "shapes", width=width)
    opt = optim.AdamW(method.parameters(), lr=TRAIN.lr, weight_decay=TRAIN.weight_decay)
    g = torch.Generator().manual_seed(0)
    x = images[:TRAIN.batch_size]
    x1, x2 = augment.two_views(x, method.augment, g)
    with FlopCounterMode(display=False) as counter:
        z1, z2 = method.project(torch.cat([x1, x2])).chunk(2)
        losses.info_nce(z1, z2, TAU).backward()
    flops = counter.get_total_flops()
    opt.zero_grad()
    aug, fwd_bwd, total = [], [], []
    usage = []
    for _ in range(steps):
        usage.append(resource.getrusage(resource.RUSAGE_SELF))
        t0 = time.perf_counter()
        x1, x2 = augment.two_views(x, method.augment, g)
        t1 = time.perf_counter()
        z1, z2 = method.project(torch.cat([x1, x2])).chunk(2)
        loss = losses.info_nce(z1, z2, TAU)
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        aug.append(t1 - t0), fwd_bwd.append(t2 - t1), total.append(t3 - t0)
    med = lambda v: statistics.median(v[2:])  # noqa: E731
    first, last = usage[2], resource.getrusage(resource.RUSAGE_SELF)
    return {"width": width, "flops": flops, "step": med(total), "aug": med(aug), "fwd_bwd": med(fwd_bwd),
            "faults": (last.ru_minflt - first.ru_minflt) / (steps - 2), "sys": (last.ru_stime - first.ru_stime) / (steps - 2)}


def in_a_thread(fn: Callable[[], T]) -> T:
    """``fn()`` in a thread of its own, as the app trains (a job thread), and its result.

    All of the run's torch work happens there, none in the main thread, as in the app (Streamlit's event loop runs no
    torch). libgomp keeps an OpenMP team for every thread that ran a parallel op, and once the process holds more team
    threads than cores it stops spinning between parallel regions (its throttled spin count of 100), so each op waits for
    its worker to wake up: a team left in the main thread made the measured thread's shapes steps 77–94 ms instead of
    54–74 ms. glibc also gives threads their own malloc arenas, which hand freed memory back to the OS more eagerly.
    """
    out: list[T] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    if not out:
        raise RuntimeError("the measuring thread failed (its traceback is above).")
    return out[0]


def fresh_process_rows(malloc: str, widths: tuple[int, ...]) -> list[dict]:
    """``measure`` in a fresh process, with sslviz's malloc settings or glibc's defaults."""
    out = subprocess.run([sys.executable, __file__, "--malloc", malloc, "--widths", *map(str, widths), "--rows-only"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def malloc_comparison(widths: tuple[int, ...], rounds: int = 3) -> list[dict]:
    """Step time, page faults and system CPU with glibc's default malloc settings and with sslviz's, in fresh processes
    that alternate (a process's malloc history changes the faults, and the machine's load drifts): medians of ``rounds``."""
    runs: dict[str, list[list[dict]]] = {"glibc": [], "sslviz": []}
    for _ in range(rounds):
        for malloc in runs:
            runs[malloc].append(fresh_process_rows(malloc, widths))
    med = lambda malloc, i, key: statistics.median(rows[i][key] for rows in runs[malloc])  # noqa: E731
    return [{"width": w, **{f"{key}_{malloc}": med(malloc, i, key) for malloc in runs for key in ("step", "faults", "sys")}}
            for i, w in enumerate(widths)]


def rows_of(widths: list[int]) -> list[dict]:
    """``measure`` for each width, on the shapes training images."""
    images = data.load("shapes", "train", 0).images
    return [measure(width, images) for width in widths]


def peak_and_rows(widths: list[int]) -> tuple[float, list[dict], float]:
    """The matmul peak before the steps, the rows, and the peak after them."""
    # The peak moves by ±20% between runs on a shared VM (197.7, 169.6, 145.0 GFLOP/s in three runs): measured before and
    # after the steps, and the higher of the two divides, so a slow moment cannot inflate the shares.
    before = matmul_peak(repeats=20)
    rows = rows_of(widths)
    return before, rows, matmul_peak(repeats=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--malloc", choices=("sslviz", "glibc"), default="sslviz", help="glibc: keep glibc's default malloc settings")
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--rows-only", action="store_true", help="print the rows as JSON, write nothing (the comparison's processes)")
    args = parser.parse_args()
    if args.malloc == "glibc" and not args.rows_only:
        parser.error("--malloc glibc goes with --rows-only: the section is measured with sslviz's settings, as the app trains")
    # as the app: threads and malloc settings in the main thread before any other thread starts, torch work in one
    threads = configure_threads()
    memory.limit_malloc_arenas()  # as app.py does, in both modes
    if args.malloc == "sslviz":
        memory.reuse_freed_memory()  # as Trainer.fit does: the step measured is the step the app trains
    if args.rows_only:
        print(json.dumps(in_a_thread(lambda: rows_of(args.widths))))
        return
    before, rows, after = in_a_thread(lambda: peak_and_rows(args.widths))
    peak = max(before, after)
    compared = malloc_comparison(tuple(w for w in args.widths if w <= 32))
    print(f"matmul peak {before / 1e9:.1f} before, {after / 1e9:.1f} after the steps (GFLOP/s)", flush=True)
    for r in rows:
        r["share"] = r["flops"] / r["fwd_bwd"] / peak
        r["share_step"] = r["flops"] / r["step"] / peak
        print(r, flush=True)
    table = ("| encoder width | model GFLOP / step | step s | augmentation s | forward+backward s | share of peak (whole step) | "
             "share of peak (fwd+bwd only) | page faults / step | system CPU s / step |\n|---|---|---|---|---|---|---|---|---|\n")
    table += "\n".join(f"| {r['width']}{DEFAULT_OF.get(r['width'], '')} | {r['flops'] / 1e9:.2f} | {r['step']:.3f} | {r['aug']:.3f} | "
                       f"{r['fwd_bwd']:.3f} | {r['share_step']:.1%} | {r['share']:.1%} | {r['faults']:,.0f} | {r['sys']:.3f} |" for r in rows)
    malloc = ("| encoder width | step s, glibc's defaults | step s, sslviz's | ratio | page faults / step (glibc → sslviz) | "
              "system CPU s / step (glibc → sslviz) |\n|---|---|---|---|---|---|\n")
    malloc += "\n".join(f"| {c['width']} | {c['step_glibc']:.3f} | {c['step_sslviz']:.3f} | {c['step_glibc'] / c['step_sslviz']:.2f}× | "
                        f"{c['faults_glibc']:,.0f} → {c['faults_sslviz']:,.0f} | {c['sys_glibc']:.3f} → {c['sys_sslviz']:.3f} |" for c in compared)
    write_section("utilization", "## Utilisation of the matmul peak (utilization)\n\n"
                  f"Float32 matmul peak measured in the same run (2048×2048, {threads} threads, best of 20 before and after the steps: "
                  f"{before / 1e9:.1f} and {after / 1e9:.1f}): **{peak / 1e9:.1f} GFLOP/s**. "
                  f"SimCLR on shapes with its defaults (batch {TRAIN.batch_size}: {2 * TRAIN.batch_size} views of 32×32; "
                  f"lr {TRAIN.lr:g}, τ {TAU:g}), FLOPs counted by torch.utils.flop_counter (convolutions and matmuls, forward + backward). "
                  "The peak and the steps in one thread of their own, and no torch in the main thread, as the app's runs (utilization.in_a_thread says why), with sslviz's malloc settings (memory.reuse_freed_memory, as Trainer.fit).\n\n" + table +
                  "\n\nThe same steps with glibc's default malloc settings and with sslviz's, in fresh processes that alternate "
                  "(three each; medians of their medians of 10 steps):\n\n" + malloc)


if __name__ == "__main__":
    main()
