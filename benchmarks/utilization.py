"""How much of the machine a default SimCLR training step uses, and where the time goes.

    python benchmarks/utilization.py

Counts the model FLOPs of one training step (forward + backward, torch.utils.flop_counter),
times the step, and divides by the float32 matmul peak measured in the same run
(a 2048×2048 matmul). Also splits the step into augmentation, forward+backward and the rest,
and repeats the measurement for wider encoders, because tiny convolutions are bound by
memory traffic and per-op overhead, not by arithmetic.
"""

from __future__ import annotations

import statistics
import time

import torch
from _results import write_section
from torch.utils.flop_counter import FlopCounterMode

from sslviz import augment, data, losses, methods, optim
from sslviz.train import TrainConfig, configure_threads


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
    for _ in range(steps):
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
    return {"width": width, "flops": flops, "step": med(total), "aug": med(aug), "fwd_bwd": med(fwd_bwd)}


def main() -> None:
    threads = configure_threads()
    images = data.load("shapes", "train", 0).images
    # The peak moves by ±20% between runs on a shared VM (197.7, 169.6, 145.0 GFLOP/s in three runs): measured before and
    # after the steps, and the higher of the two divides, so a slow moment cannot inflate the shares.
    before = matmul_peak(repeats=20)
    rows = [measure(width, images) for width in (16, 32, 64)]
    after = matmul_peak(repeats=20)
    peak = max(before, after)
    print(f"matmul peak {before / 1e9:.1f} before, {after / 1e9:.1f} after the steps (GFLOP/s)", flush=True)
    for r in rows:
        r["share"] = r["flops"] / r["fwd_bwd"] / peak
        r["share_step"] = r["flops"] / r["step"] / peak
        print(r, flush=True)
    table = "| encoder width | model GFLOP / step | step s | augmentation s | forward+backward s | share of peak (whole step) | share of peak (fwd+bwd only) |\n|---|---|---|---|---|---|---|\n"
    table += "\n".join(f"| {r['width']}{DEFAULT_OF.get(r['width'], '')} | {r['flops'] / 1e9:.2f} | {r['step']:.3f} | {r['aug']:.3f} | {r['fwd_bwd']:.3f} | {r['share_step']:.1%} | {r['share']:.1%} |" for r in rows)
    write_section("utilization", "## Utilisation of the matmul peak (utilization)\n\n"
                  f"Float32 matmul peak measured in the same run (2048×2048, {threads} threads, best of 20 before and after the steps: "
                  f"{before / 1e9:.1f} and {after / 1e9:.1f}): **{peak / 1e9:.1f} GFLOP/s**. "
                  f"SimCLR on shapes with its defaults (batch {TRAIN.batch_size}: {2 * TRAIN.batch_size} views of 32×32; "
                  f"lr {TRAIN.lr:g}, τ {TAU:g}), FLOPs counted by torch.utils.flop_counter (convolutions and matmuls, forward + backward).\n\n" + table)


if __name__ == "__main__":
    main()
