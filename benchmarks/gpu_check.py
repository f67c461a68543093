"""On a GPU machine: the device-dependent tests, the device check, and training speed on CUDA vs the CPU.

    python benchmarks/gpu_check.py [--steps 40] [--methods simclr,mae,dino]

1. ``pytest tests/test_device.py`` with CUDA visible (its cases parametrised over the devices the
   machine has, so here they include ``cuda``);
2. ``benchmarks/device_check.py --device cuda`` (Downstream, weak supervision, MAE timing and
   reproducible fine-tuning run on the GPU);
3. steps per second of each method's default training step on shapes, on ``cuda`` and on ``cpu``,
   with ``torch.cuda.synchronize`` before every clock read, and the ratio.

Exits 2 on a machine without CUDA (it says so), 1 when a check fails. Writes the RESULTS.md section
``gpu-check`` when everything passed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch
from _results import write_section

from sslviz import data, methods
from sslviz.train import seconds_per_step

ROOT = Path(__file__).resolve().parents[1]


def steps_per_second(name: str, device: str, steps: int) -> float:
    """Default-batch training steps per second of ``name`` on shapes (median step time, synchronised on CUDA)."""
    torch.manual_seed(0)
    method = methods.create(name, "shapes")
    batch_size = methods.train_defaults(name, "shapes").get("batch_size", 256)
    images = method.inputs(data.load("shapes", "train"))
    batch = images[:batch_size] if isinstance(images, torch.Tensor) else images
    if not isinstance(batch, torch.Tensor):
        raise ValueError(f"{name}: trains on paired inputs; steps/s is measured for image methods only.")
    return 1.0 / seconds_per_step(method, batch, steps=steps, warmup=3, device=device)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per method and device (after 3 warm-up steps)")
    parser.add_argument("--methods", default="simclr,moco,byol,mae,dino,barlow_twins", help="comma-separated registry names")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device on this machine (torch.cuda.is_available() is False); nothing was run.")
        return 2
    out: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/test_device.py"], cwd=ROOT, capture_output=True, text=True)
    out["device_tests"] = {"rc": tests.returncode, "tail": tests.stdout.strip().splitlines()[-1:]}
    check = subprocess.run([sys.executable, "benchmarks/device_check.py", "--device", "cuda"], cwd=ROOT, capture_output=True, text=True)
    out["device_check"] = json.loads(check.stdout) if check.returncode in (0, 1) and check.stdout.strip().startswith("{") else {"rc": check.returncode, "stderr": check.stderr[-2000:]}
    speed = {}
    for name in args.methods.split(","):
        methods.spec(name)  # an unknown name fails here, with the registry's message
        cuda, cpu = steps_per_second(name, "cuda", args.steps), steps_per_second(name, "cpu", max(5, args.steps // 4))
        speed[name] = {"cuda_steps_per_s": round(cuda, 1), "cpu_steps_per_s": round(cpu, 1), "ratio": round(cuda / cpu, 1)}
        print(name, speed[name], flush=True)
    out["steps_per_second"] = speed
    ok = tests.returncode == 0 and out["device_check"].get("ok") is True
    out["ok"] = ok
    print(json.dumps(out, indent=2))
    if ok:
        rows = "\n".join(f"| {n} | {s['cuda_steps_per_s']} | {s['cpu_steps_per_s']} | {s['ratio']}× |" for n, s in speed.items())
        write_section("gpu-check", f"## On a GPU (gpu-check)\n\n{out['gpu']}; device tests and device_check passed. Default training step on shapes, "
                      f"steps per second:\n\n| method | CUDA | CPU | CUDA / CPU |\n|---|---|---|---|\n{rows}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
