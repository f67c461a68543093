"""Twice as fast? SimCLR's defaults when issue 24 was filed against today's (or candidates), side by side.

    python benchmarks/faster_defaults.py                       # clutter (probe) and shapes (kNN), seeds 0 1 2, test split
    python benchmarks/faster_defaults.py --splits val --seeds 0 1 --candidates '{"b64": {"shapes": {"train": {"batch_size": 64}}}}'

The old defaults (the registry at c165289's parent: clutter batch 256 / τ 0.2, shapes batch 128 /
τ 0.5, lr 2e-3) train ``--old-seconds``; each candidate (by default today's registry defaults;
``--candidates`` maps a name to per-dataset method and training overrides) trains
``--new-seconds``; all are scored every ``--every`` seconds of training time (evaluation time
not charged; the time_to_accuracy protocol). The target is the old defaults' accuracy at the end
of their budget — per seed, and the mean over seeds — and the question is when each candidate
first reaches it. With today's defaults the run also checks the earlier bars: SimCLR's shapes
probe ≥ 0.90 at 30 s and kNN ≥ random-init + 0.20.
"""

from __future__ import annotations

import argparse
import json
import statistics

from _results import write_section
from time_to_accuracy import curve

from sslviz import experiment
from sslviz.train import configure_threads

# The registry's SimCLR settings when issue 24 was filed (simclr.py at c165289's parent).
# Every field today's registry tunes is named, so that a later default cannot leak into the old run.
OLD = {"clutter": {"method": {"temperature": 0.2, "width": 16}, "train": {"batch_size": 256, "lr": 2e-3}},
       "shapes": {"method": {"temperature": 0.5, "width": 16}, "train": {"batch_size": 128, "lr": 2e-3}}}
TODAY = "today's defaults"
TASKS = (("clutter", "probe"), ("shapes", "knn"))
COLUMN = {"probe": 1, "knn": 2}


def reach(points: list[tuple[float, float, float]], target: float, column: int) -> float | None:
    """The first training second at which ``column`` reaches ``target``; None if it never does."""
    return next((p[0] for p in points if p[column] >= target - 1e-9), None)


def near(points: list[tuple[float, float, float]], t: float, column: int, every: float) -> float:
    """``column`` at training second ``t``: the latest point scored by then (a point lands just after each ``every`` seconds,
    so up to half an interval late counts); before the first, the first."""
    return ([p[column] for p in points if p[0] <= t + every / 2] or [points[0][column]])[-1]


def mean_curve(curves: list[list[tuple[float, float, float]]], every: float, seconds: float) -> list[tuple[float, float, float]]:
    """The seeds' curves averaged on a common grid of training seconds (:func:`near`); the last grid point is each run's end."""
    grid = [i * every for i in range(int(seconds / every + 1e-9) + 1)]
    if grid[-1] < seconds - 1e-9:
        grid.append(seconds)
    return [(t, *(statistics.fmean(c[-1][col] if t == grid[-1] else near(c, t, col, every) for c in curves) for col in (1, 2))) for t in grid]


def compare(dataset: str, metric: str, candidates: dict[str, dict], args: argparse.Namespace, splits: tuple[str, str]) -> dict:
    """Old and candidate curves for every seed; when each candidate reaches the old defaults' final accuracy."""
    col, seeds = COLUMN[metric], args.seeds
    old = [curve("simclr", dataset, args.old_seconds, args.every, s, OLD[dataset]["method"], OLD[dataset]["train"], splits) for s in seeds]
    old_mean = mean_curve(old, args.every, args.old_seconds)
    out = {"dataset": dataset, "metric": metric, "old_mean": old_mean, "target": old_mean[-1][col], "candidates": {}}
    for name, overrides in candidates.items():
        if overrides and dataset not in overrides:
            continue  # a candidate for the other dataset
        o = overrides.get(dataset, {})
        new = [curve("simclr", dataset, args.new_seconds, args.every, s, o.get("method"), o.get("train"), splits) for s in seeds]
        new_mean = mean_curve(new, args.every, args.new_seconds)
        out["candidates"][name] = {
            "settings": o, "new_mean": new_mean, "reached_s": reach(new_mean, old_mean[-1][col], col),
            "per_seed": [{"seed": s, "target": oc[-1][col], "old_at_new_s": near(oc, args.new_seconds, col, args.every), "new_final": nc[-1][col],
                          "reached_s": reach(nc, oc[-1][col], col)} for s, oc, nc in zip(seeds, old, new)]}
    return out


def bars(seeds: list[int], seconds: float, splits: tuple[str, str]) -> list[str]:
    """SimCLR's earlier acceptance bars on shapes with today's defaults: probe ≥ 0.90 at 30 s, kNN ≥ random-init + 0.20."""
    lines = []
    for seed in seeds:
        exp = experiment.run("simclr", "shapes", seconds=seconds, seed=seed, splits=splits)
        m = exp.metrics
        ok = m["probe_acc"] >= 0.90 and m["knn_acc"] >= m["random_init_knn_acc"] + 0.20
        lines.append(f"- seed {seed}: probe {m['probe_acc']:.3f} (bar 0.90), kNN {m['knn_acc']:.3f} vs random-init "
                     f"{m['random_init_knn_acc']:.3f} (+{m['knn_acc'] - m['random_init_knn_acc']:.3f}, bar +0.20): {'holds' if ok else '**fails**'}")
        print(lines[-1], flush=True)
    return lines


def fmt_s(v: float | None, budget: float) -> str:
    return f"**{v:.0f} s**" if v is not None else f"not within {budget:g} s"


def report(results: list[dict], bar_lines: list[str], args: argparse.Namespace) -> str:
    lines = [f"## SimCLR's defaults when issue 24 was filed vs today's, side by side ({args.section})", "",
             "Old (" + "; ".join(f"{d}: width {v['method']['width']}, batch {v['train']['batch_size']}, lr {v['train']['lr']:g}, "
                                 f"τ {v['method']['temperature']:g}" for d, v in OLD.items())
             + f") train {args.old_seconds:g} s; each candidate trains {args.new_seconds:g} s (\"{TODAY}\": the registry at this commit). "
             f"Scored on `{args.splits}` every {args.every:g} s of training time (evaluation not charged), seeds {', '.join(map(str, args.seeds))}. "
             f"Target: the old defaults' accuracy at {args.old_seconds:g} s (per seed; `mean`: the seeds' mean curves).", "",
             f"| dataset | metric | candidate | seed | old at {args.old_seconds:g} s (target) | old at {args.new_seconds:g} s | candidate at {args.new_seconds:g} s "
             "| candidate reaches the target at |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        col = COLUMN[r["metric"]]
        for name, c in r["candidates"].items():
            for s in c["per_seed"]:
                lines.append(f"| {r['dataset']} | {r['metric']} | {name} | {s['seed']} | {s['target']:.3f} | {s['old_at_new_s']:.3f} | {s['new_final']:.3f} | "
                             f"{fmt_s(s['reached_s'], args.new_seconds)} |")
            lines.append(f"| {r['dataset']} | {r['metric']} | {name} | mean | {r['target']:.3f} | {near(r['old_mean'], args.new_seconds, col, args.every):.3f} | "
                         f"{c['new_mean'][-1][col]:.3f} | {fmt_s(c['reached_s'], args.new_seconds)} |")
    lines += ["", "Candidates' settings (overrides of today's registry defaults; none: the registry itself):", ""]
    lines += [f"- {name}: {json.dumps(c['settings']) if c['settings'] else 'none'} ({r['dataset']})" for r in results for name, c in r["candidates"].items()]
    lines += ["", "Mean curves (training s: old, then each candidate in the order above):", ""]
    for r in results:
        col = COLUMN[r["metric"]]
        news = [c["new_mean"] for c in r["candidates"].values()]
        lines.append(f"- {r['dataset']} {r['metric']}: " + ", ".join(
            f"{t:g} s {v:.3f}" + "".join(f" / {near(n, t, col, args.every):.3f}" for n in news if t <= args.new_seconds + 1e-9)
            for t, v in ((p[0], p[col]) for p in r["old_mean"])))
    if bar_lines:
        lines += ["", f"Earlier bars with today's defaults (SimCLR, shapes, {args.new_seconds:g} s, `{args.splits}`):", "", *bar_lines]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--old-seconds", type=float, default=60.0)
    parser.add_argument("--new-seconds", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--splits", choices=("test", "val"), default="test")
    parser.add_argument("--datasets", nargs="+", choices=[d for d, _ in TASKS], default=[d for d, _ in TASKS])
    parser.add_argument("--candidates", type=json.loads, default={TODAY: {}},
                        help='JSON: name -> {dataset: {"method": {...}, "train": {...}}} (run on the datasets it names; {}: on all); default: '
                             "today's registry defaults")
    parser.add_argument("--section", default="faster-defaults")
    args = parser.parse_args()
    if min(args.old_seconds, args.new_seconds, args.every) <= 0:
        parser.error("--old-seconds, --new-seconds and --every must be > 0")
    if not isinstance(args.candidates, dict) or not args.candidates:
        parser.error("--candidates must be a non-empty JSON object")
    splits = experiment.TEST_PROTOCOL if args.splits == "test" else experiment.SELECTION_PROTOCOL
    configure_threads()
    results = []
    for dataset, metric in TASKS:
        if dataset in args.datasets:
            results.append(compare(dataset, metric, args.candidates, args, splits))
            print(json.dumps({k: results[-1][k] for k in ("dataset", "metric", "target")}), flush=True)
            for name, c in results[-1]["candidates"].items():
                print(name, json.dumps(c["per_seed"]), "mean reached", c["reached_s"], flush=True)
            write_section(args.section, report(results, [], args))
    bar_lines = bars(args.seeds, args.new_seconds, splits) if TODAY in args.candidates and "shapes" in args.datasets else []
    write_section(args.section, report(results, bar_lines, args))


if __name__ == "__main__":
    main()
