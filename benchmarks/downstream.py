"""Label efficiency and attribute probes: what SSL pre-training buys downstream (the Downstream page's numbers).

    python benchmarks/downstream.py [--seconds 60] [--steps 1000] [--seeds 3]

Runs the page's own job (``recipes.downstream_job``) on
- digits: SimCLR vs the same CNN from scratch at 1, 5, 10, 25 and 100% of the labels (the
  page's one-click preset is this setting at 1, 10 and 100%);
- shapes: SimCLR with and without colour jitter vs scratch, plus the attribute probes;
and, as a sensitivity check, the scratch baseline on digits at 1% given 3× the supervised steps.
Every number is a mean ± std over ``--seeds`` label draws.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _results import write_section

from sslviz import augment, data, evaluate
from sslviz.jobs import JobRunner
from sslviz.recipes import backbone_factory, downstream_job, supervised_preset


def run(runner: JobRunner, encoders: dict, dataset: str, args) -> dict:
    start = time.time()
    job = runner.submit(downstream_job(encoders, dataset, args.seconds, 0, "cpu", evaluate.LABEL_FRACTIONS, tuple(range(args.seeds)), steps=args.steps))
    last = ""
    while job.view().active:
        time.sleep(2)
        message = job.view().message
        if message != last:
            print(f"  [{time.time() - start:5.0f} s] {message}", flush=True)
            last = message
    view = job.view()
    if view.status != "done":
        raise SystemExit(f"{dataset}: {view.status}: {view.message}")
    return {**view.state, "wall": time.time() - start}


def curve_table(state: dict) -> str:
    summary = evaluate.summarise(state["rows"])
    fractions = sorted({r["fraction"] for r in summary})
    labels = {r["fraction"]: r["labels"] for r in summary}
    head = "| encoder · mode | " + " | ".join(f"{100 * f:g}% ({labels[f]})" for f in fractions) + " |\n|---|" + "---|" * len(fractions)
    lines = []
    for enc, mode in dict.fromkeys((r["encoder"], r["mode"]) for r in summary):
        cells = {r["fraction"]: f"{r['mean']:.3f} ± {r['std']:.3f}" for r in summary if (r["encoder"], r["mode"]) == (enc, mode)}
        name = mode if enc == mode else f"{enc} · {mode}"
        lines.append(f"| {name} | " + " | ".join(cells.get(f, "") for f in fractions) + " |")
    return head + "\n" + "\n".join(lines)


def gaps(state: dict) -> str:
    summary = evaluate.summarise(state["rows"])
    scratch = {r["fraction"]: r["mean"] for r in summary if r["mode"] == evaluate.SCRATCH}
    out = []
    for f in sorted(scratch):
        best = max((r for r in summary if r["fraction"] == f and r["mode"] != evaluate.SCRATCH), key=lambda r: r["mean"])
        out.append(f"{100 * f:g}%: {best['encoder']} · {best['mode']} {best['mean']:.3f} vs scratch {scratch[f]:.3f} (**{100 * (best['mean'] - scratch[f]):+.1f} points**)")
    return "; ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60, help="pre-training budget per encoder")
    ap.add_argument("--steps", type=int, default=1000, help="supervised steps (fine-tune and scratch alike)")
    ap.add_argument("--seeds", type=int, default=3, help="label draws per fraction")
    args = ap.parse_args()
    torch.set_num_threads(2)
    runner = JobRunner(1, max_seconds=4 * 3600)
    print("digits ...", flush=True)
    digits = run(runner, {"SimCLR": ("simclr", {})}, "digits", args)
    print("shapes ...", flush=True)
    shapes = run(runner, {"SimCLR": ("simclr", {}), "SimCLR without colour jitter": ("simclr", {"augment": "SimCLR + rotation, no colour"})}, "shapes", args)

    print("scratch with 3× the steps on digits at 1% ...", flush=True)
    train, test = data.load("digits", "train"), data.load("digits", "test")
    aug = augment.preset(supervised_preset("digits"))
    longer = [evaluate.supervised_from_scratch(backbone_factory(1), train, test, evaluate.label_subset(train.labels, 0.01, s), aug,
                                               evaluate.SupervisedConfig(steps=3 * args.steps), s) for s in range(args.seeds)]

    attrs = "\n".join(f"| {enc} | {how} | " + " | ".join(f"{v:.3f}" for v in scores[how].values()) + " |"
                      for enc, scores in shapes["attributes"].items() for how in ("linear probe", "kNN"))
    attr_names = list(shapes["chance"])
    body = (
        f"### Label efficiency (SSL pre-training {args.seconds:g} s, {args.steps} supervised steps, {args.seeds} label draws)\n\n"
        "Same backbone (SmallCNN width 16), same label draws, same augmentations and step budget for fine-tuning and scratch "
        "(fine-tuning moves the pre-trained encoder 10× slower than its new head); the test split only scores.\n\n"
        f"**digits** (1,258 train images; run {digits['wall']:.0f} s):\n\n{curve_table(digits)}\n\nBest SSL vs scratch — {gaps(digits)}.\n\n"
        f"Sensitivity: scratch at 1% with {3 * args.steps} steps instead of {args.steps}: "
        f"{np.mean(longer):.3f} ± {np.std(longer):.3f} (per draw {', '.join(f'{a:.3f}' for a in longer)}).\n\n"
        f"**shapes** (3,000 train images; run {shapes['wall']:.0f} s):\n\n{curve_table(shapes)}\n\nBest SSL vs scratch — {gaps(shapes)}.\n\n"
        f"**Attribute probes on shapes** (all train labels of each attribute; test accuracy):\n\n| encoder | read with | "
        + " | ".join(attr_names) + " |\n|---|---|" + "---|" * len(attr_names) + "\n" + attrs
        + "\n| chance | most frequent | " + " | ".join(f"{v:.3f}" for v in shapes["chance"].values()) + " |"
    )
    print(body)
    write_section("downstream", body)


if __name__ == "__main__":
    main()
