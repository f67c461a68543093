"""Do the one-click demos show their lesson on a busy machine? Every break-it and Deep clustering's default run.

    python benchmarks/break_it_lessons.py --load          # beside a 2-thread training loop (a busy 2-core server)
    python benchmarks/break_it_lessons.py --dataset digits --no-write

Each break-it from the registry runs as the Contrastive page's button runs it: the dataset's starting budget in
seconds, and at least its measured ``break_steps`` (``min_steps``), so a slow machine stretches the run instead of
ending it before the collapse. Each row: the steps and seconds it got, the detector's verdict, and what the page
shows — the collapse banner, or the "only N steps ran; this collapse needs about M" notice. Deep clustering's
default run (the page's ``min_steps`` for three clusterings) reports how many rounds it showed. Rows replace the
``break-it-lessons`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _results import write_section

from sslviz import data, diagnostics, experiment, methods
from sslviz.methods import deepcluster
from sslviz.train import configure_threads

# The neighbour: a 2-thread conv-net training loop, as another user's job (or another service) on the same 2 cores.
LOAD = """
import torch
from torch import nn
torch.set_num_threads(2)
net = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.01)
x, y = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
while True:
    loss = nn.functional.cross_entropy(net(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
"""


def break_row(label: str, name: str, overrides: dict, dataset: str, seconds: float, seed: int) -> str:
    needed = methods.spec(name).break_steps
    start = time.perf_counter()
    exp = experiment.run(name, dataset, seconds=seconds, seed=seed, method_overrides=overrides, train_overrides={"min_steps": needed},
                         evaluated=False)
    h = exp.result.history
    kind = diagnostics.collapse_kind(h)
    shown = "banner: " + ("total collapse" if kind == "total" else "dimensional collapse") if kind else (
        f"notice: needs about {needed} steps" if exp.result.steps < needed else "no collapse shown")
    return (f"| {label} | {needed} | {exp.result.steps} | {exp.result.seconds:.1f} | {time.perf_counter() - start:.1f} | "
            f"{diagnostics.spread(h[-1]):.3f} | {h[-1]['effective_rank']:.1f} | {shown} |")


def clustering_row(dataset: str, seconds: float, seed: int) -> str:
    steps_per_round = methods.create("deepcluster", dataset).config.steps_per_round
    min_steps = deepcluster.steps_for_rounds(steps_per_round)
    exp = experiment.run("deepcluster", dataset, seconds=seconds, seed=seed, train_overrides={"min_steps": min_steps}, evaluated=False)
    rounds = len(exp.method.rounds)
    return (f"| Deep clustering, default ({steps_per_round} steps per round) | {min_steps} | {exp.result.steps} | {exp.result.seconds:.1f} | – | – | – | "
            f"{rounds} rounds shown |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="shapes", choices=data.names())
    parser.add_argument("--seconds", type=float, default=None, help="the budget (default: the dataset's starting budget, as the sidebar)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--load", action="store_true", help="run a 2-thread training loop beside it the whole time")
    parser.add_argument("--no-write", action="store_true", help="print the rows only")
    args = parser.parse_args()
    seconds = args.seconds if args.seconds is not None else data.info(args.dataset).seconds
    if seconds <= 0:
        parser.error(f"--seconds must be positive, got {seconds}")
    threads = configure_threads()
    neighbour = subprocess.Popen([sys.executable, "-c", LOAD]) if args.load else None
    try:
        rows = [break_row(label, name, overrides, args.dataset, seconds, args.seed)
                for name in methods.REGISTRY for label, (overrides, _) in methods.spec(name).breaks.items()]
        for r in rows:
            print(r, flush=True)
        rows.append(clustering_row(args.dataset, seconds, args.seed))
        print(rows[-1], flush=True)
    finally:
        if neighbour is not None:
            neighbour.kill()
    if args.no_write:
        return
    write_section("break-it-lessons", "\n".join([
        "## Break-it lessons on a busy machine",
        "",
        f"`benchmarks/break_it_lessons.py`: {args.dataset}, budget {seconds:g} s (the sidebar's start), seed {args.seed}, {threads} threads, "
        + ("**beside a 2-thread training loop** (the other half of a busy 2-core server). " if args.load else "idle machine. ")
        + "Each break-it runs as its one-click button does: at least its registry's `break_steps`. 'Shown' is what the page draws: "
        "the detector's banner, or the notice that the run stopped before its lesson.",
        "",
        "| run | steps it needs | steps | training s | wall s | std × √d | effective rank | shown |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]))


if __name__ == "__main__":
    main()
