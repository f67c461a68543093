"""Four runs at once on two cores: no oversubscription loss, every run gets the steps it was promised.

    python benchmarks/oversubscription.py [--runs 4] [--dataset shapes] [--seconds 20]

The server's runner as ``SSLVIZ_MAX_JOBS=RUNS`` makes it (in-process threads). First one SimCLR run
trains alone (the idle rate its settings make: ``sslviz.pacing``), then RUNS runs of the same settings
(other seeds) are submitted at once, as RUNS browser sessions pressing Train would. Reported: steps per
second of training, alone and all together; the torch threads each run got (threads × runs ≤ cores);
what each page showed before its first step (the expected time and the promised steps, ``pace_text``);
and whether each run got its promised steps. Writes the ``oversubscription`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _results import write_section


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4, help="runs at once (SSLVIZ_MAX_JOBS), 2-16")
    ap.add_argument("--dataset", default="shapes")
    ap.add_argument("--seconds", type=float, default=20.0, help="each run's budget (5-120)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if not 2 <= args.runs <= 16 or not 5 <= args.seconds <= 120:
        raise SystemExit("--runs must be 2-16 and --seconds 5-120")
    os.environ["SSLVIZ_MAX_JOBS"] = str(args.runs)  # before sslviz.jobs makes the server's runner
    from sslviz import jobs, recipes
    from sslviz.serving import threads_per_run
    from sslviz.ui.live import pace_text

    def submit(seed: int) -> jobs.Job:
        return jobs.RUNNER.submit(recipes.experiment_job("simclr", args.dataset, args.seconds, seed=seed, device="cpu", few_labels=()), name=f"seed{seed}")

    def follow(batch: list[jobs.Job]) -> dict[str, str]:
        before_first_step: dict[str, str] = {}
        while any(j.view().active for j in batch):
            for j in batch:
                v = j.view()
                if j.id not in before_first_step and "pace" in v.state and not v.history:
                    before_first_step[j.id] = pace_text(v.state["pace"]) or "(alone: nothing to say)"
            time.sleep(0.02)
        return before_first_step

    alone = submit(0)
    follow([alone])
    a = alone.view()
    if a.status != "done":
        raise SystemExit(f"the run alone did not finish: {a.message}")
    alone_rate = a.state["summary"]["steps"] / a.state["summary"]["seconds"]
    batch = [submit(seed) for seed in range(1, args.runs + 1)]
    shown = follow(batch)
    views = [j.view() for j in batch]
    failed = [v.message for v in views if v.status != "done"]
    if failed:
        raise SystemExit(f"runs did not finish: {failed}")
    steps = [v.state["summary"]["steps"] for v in views]
    train_seconds = [v.state["summary"]["seconds"] for v in views]
    promised = [v.state["summary"].get("promised_steps") for v in views]
    together_rate = sum(steps) / max(train_seconds)  # they start together: all steps over the longest run's training time
    got = [p is not None and s >= p for s, p in zip(steps, promised)]
    threads = threads_per_run()
    rows = [f"| seed {i + 1} | {s} | {p} | {t:.1f} | {'yes' if g else 'NO'} | {shown.get(j.id, 'NOTHING SHOWN')} |"
            for i, (j, s, p, t, g) in enumerate(zip(batch, steps, promised, train_seconds, got))]
    body = "\n".join([
        "## Several runs at once on 2 cores: no oversubscription loss, promised steps (oversubscription)",
        "",
        f"`benchmarks/oversubscription.py --runs {args.runs} --dataset {args.dataset} --seconds {args.seconds:g}`: the in-process runner "
        f"with SSLVIZ_MAX_JOBS={args.runs} on {os.cpu_count()} cores, {threads} torch thread(s) per run "
        f"({threads} × {args.runs} runs; `train.app_threads`). SimCLR, {args.seconds:g}-s budget, default settings.",
        "",
        f"- One run alone: {a.state['summary']['steps']} steps in {a.state['summary']['seconds']:.1f} s = **{alone_rate:.2f} steps/s**.",
        f"- {args.runs} runs at once: {sum(steps)} steps, the longest trained {max(train_seconds):.1f} s = **{together_rate:.2f} steps/s in total**, "
        f"**{together_rate / alone_rate:.0%} of one run alone** (bar: ≥ 80%).",
        f"- Every run got its promised steps: **{'yes' if all(got) else 'NO'}** ({sum(got)} / {len(got)}); every page showed its expected "
        f"time before its first step: **{'yes' if len(shown) == len(batch) else 'NO'}**.",
        "",
        "| run | steps | promised | training s | got them | the page before the first step |",
        "|---|---|---|---|---|---|",
        *rows,
    ])
    print(body)
    if not args.no_write:
        write_section("oversubscription", body)
    if together_rate < 0.8 * alone_rate or not all(got) or len(shown) < len(batch):
        sys.exit(1)


if __name__ == "__main__":
    main()
