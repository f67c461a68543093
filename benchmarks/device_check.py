"""Do the device-sensitive paths run where the sidebar says? A short, prepared check for a GPU machine.

    python benchmarks/device_check.py --device cuda     # on a machine with a GPU (exits 2 without one)
    python benchmarks/device_check.py --device cpu      # the same check on the CPU (what CI can run)

Runs, on ``--device``: the Downstream page's job (pre-training, attribute probes, fine-tuning and
the from-scratch baseline), the weak-supervision job, MAE's "Time one step", and a fine-tuning run
twice with the same seed (a GPU must be as reproducible as the CPU). Every forward pass of the CNN
backbone records the device of its input; the check fails if any ran elsewhere. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import _results  # noqa: F401  (puts the repository on sys.path, as for every benchmark)

from sslviz import augment, data, evaluate, recipes
from sslviz.jobs import Job
from sslviz.nets import SmallCNN
from sslviz.train import resolve_device


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu", "mps"))
    args = parser.parse_args()
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        print(json.dumps({"device": args.device, "ok": False, "error": str(err)}))
        return 2
    seen: set[str] = set()
    forward = SmallCNN.forward
    SmallCNN.forward = lambda self, x: (seen.add(x.device.type), forward(self, x))[1]  # record where the backbone runs
    out: dict = {"device": str(device)}
    t0 = time.perf_counter()
    job = Job("downstream")
    target = recipes.downstream_job({"SimCLR": ("simclr", {})}, "digits", 3, 0, args.device, fractions=(0.05,), seeds=(0,), steps=30)
    out["downstream"] = {"status": target(job), "rows": len(job.state["rows"]), "devices": sorted(seen), "seconds": round(time.perf_counter() - t0, 1)}
    encoder = job.state["encoders"]["SimCLR"]
    seen.clear()
    weak = Job("weak")
    recipes.weak_supervision_job(encoder, "SimCLR", "digits", 0.3, steps=30, device=args.device)(weak)
    out["weak_supervision"] = {"accuracy": round(weak.state["result"]["weak"], 3), "devices": sorted(seen)}
    out["mae_step_seconds"] = recipes.step_seconds("mae", "digits", {"visible": {}, "all": {"encoder_input": "all"}}, batch=64, device=args.device)
    train, test = data.load("digits", "train"), data.load("digits", "test")
    labelled = evaluate.label_subset(train.labels, 0.05, 0)
    config = evaluate.SupervisedConfig(steps=30, device=args.device)
    twice = [evaluate.fine_tune(encoder, train, test, labelled, augment.preset("digits"), config, seed=3) for _ in range(2)]
    out["fine_tune_reproducible"] = {"accuracies": twice, "same": twice[0] == twice[1]}
    out["ok"] = (out["downstream"]["devices"] == out["weak_supervision"]["devices"] == [device.type] and out["fine_tune_reproducible"]["same"]
                 and out["downstream"]["status"] == "done")
    print(json.dumps(out, indent=2))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
