"""MAE: accuracy within a budget, reconstruction error before/after, visible-only speed-up, ratio sweep.

    python benchmarks/mae.py                       # digits 60 s + timing + sweep (about 6 minutes)
    python benchmarks/mae.py --runs shapes:60 --sweep-seconds 0

Rows replace the ``mae`` section of RESULTS.md. Timing compares one training step with the
encoder on the visible tokens only vs on all tokens (hidden ones as mask tokens), same batch.
"""

from __future__ import annotations

import argparse

import torch
from _results import write_section

from sslviz import data, experiment, methods
from sslviz.train import configure_threads, seconds_per_step


def accuracy_row(dataset: str, seconds: float, seed: int) -> str:
    test = data.load(dataset, "test", seed)
    torch.manual_seed(seed)
    before = methods.create("mae", dataset).test_metrics(test.images, seed)["test_masked_mse"]
    exp = experiment.run("mae", dataset, seconds=seconds, seed=seed)
    m, h = exp.metrics, exp.result.history
    first, last = sum(r["masked_mse"] for r in h[:10]) / 10, sum(r["masked_mse"] for r in h[-10:]) / 10
    return (f"| {dataset} | {seconds:g} | {exp.result.steps} | **{m['probe_acc']:.3f}** | **{m['knn_acc']:.3f}** | {m['random_init_probe_acc']:.3f} | "
            f"{m['random_init_knn_acc']:.3f} | {m['raw_pixel_probe_acc']:.3f} | {m['raw_pixel_knn_acc']:.3f} | {before:.4f} → {m['test_masked_mse']:.4f} | {first:.4f} → {last:.4f} |")


def timing_rows(dataset: str, ratios: list[float]) -> list[str]:
    images = data.load(dataset, "train", 0).images[:256]
    rows = []
    for r in ratios:
        t = {mode: seconds_per_step(methods.create("mae", dataset, mask_ratio=r, encoder_input=mode), images, steps=5) for mode in ("visible", "all")}
        rows.append(f"| {dataset} | {r:.0%} | {t['visible'] * 1000:.0f} | {t['all'] * 1000:.0f} | **{t['all'] / t['visible']:.2f}×** |")
    return rows


def sweep_rows(dataset: str, ratios: list[float], seconds: float, seed: int) -> list[str]:
    rows = []
    for r in ratios:
        exp = experiment.run("mae", dataset, seconds=seconds, seed=seed, method_overrides={"mask_ratio": r}, with_baselines=False)
        m = exp.metrics
        rows.append(f"| {dataset} | {r:.0%} | {exp.result.steps} | {m['test_masked_mse']:.4f} | {m['probe_acc']:.3f} | {m['knn_acc']:.3f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", default=["digits:60"], help="dataset:seconds pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ratios", nargs="+", type=float, default=[0.25, 0.5, 0.75, 0.9])
    parser.add_argument("--sweep-seconds", type=float, default=30, help="seconds per ratio in the sweep (0 = no sweep)")
    args = parser.parse_args()
    threads = configure_threads()
    acc = [accuracy_row(ds, float(s), args.seed) for ds, s in (r.split(":") for r in args.runs)]
    timing = timing_rows(args.runs[0].split(":")[0], [0.5, 0.75, 0.9])
    text = (
        "## MAE (mae)\n\n"
        f"`python benchmarks/mae.py --runs {' '.join(args.runs)} --sweep-seconds {args.sweep_seconds:g}` — {threads} torch threads, seed {args.seed}, "
        "default config (ViT patch 4, width 96, depth 3, mask 75%, norm-pix loss, decoder width 64 × 1 block). "
        "Protocol of docs/ARCHITECTURE.md on mean-pooled encoder tokens; random-init = the same ViT untrained.\n\n"
        "| data | s | steps | probe | kNN | random-init probe | random-init kNN | raw probe | raw kNN | test hidden-patch MSE (init → trained) | train MSE (first 10 → last 10 steps) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(acc) + "\n\n"
        "Visible-only encoding vs encoding all tokens (batch 256, median of 5 steps, forward + backward + AdamW):\n\n"
        "| data | mask ratio | visible only (ms/step) | all tokens (ms/step) | speed-up |\n|---|---|---|---|---|\n" + "\n".join(timing) + "\n"
    )
    if args.sweep_seconds > 0:
        ds = args.runs[0].split(":")[0]
        text += (f"\nMask-ratio sweep on {ds}, {args.sweep_seconds:g} s each:\n\n| data | mask ratio | steps | test hidden-patch MSE | probe | kNN |\n|---|---|---|---|---|---|\n"
                 + "\n".join(sweep_rows(ds, args.ratios, args.sweep_seconds, args.seed)) + "\n")
    print(text)
    write_section("mae", text)


if __name__ == "__main__":
    main()
