"""Real images: decoding and caching a standard dataset, your own images against the generated ones, and
(where the files are present) SimCLR on real CIFAR-10.

    python benchmarks/real_images.py [--seconds 30] [--cifar-minutes 5]

1. cache: 50,000 + 10,000 synthetic 32-px images written in CIFAR-10's official layout (python pickles,
   in a temporary data directory) are decoded and cached once, then loaded again from the cache; each
   phase runs in a fresh process, which reports its seconds and peak memory (ru_maxrss). The same for
   STL-10's 100,000 unlabelled 96-px images (a synthetic 2.8 GB file), kept at 32 px.
2. equivalence: the shapes train/test splits written as PNG class folders and loaded as your images give
   the same tensors (8-bit); ``bench simclr`` on them vs ``--dataset shapes``, same seed, same budget.
3. real CIFAR-10 (only when its files are in $SSLVIZ_DATA_DIR): SimCLR kNN vs random init after
   ``--cifar-minutes`` of training on the CPU; otherwise the section says it could not be run.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import write_section

ROOT = Path(__file__).resolve().parents[1]

PHASE = """
import resource, sys, time
from sslviz import data
t = time.perf_counter()
train = data.load("cifar10", "train")
test = data.load("cifar10", "test")
seconds = time.perf_counter() - t
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(train), len(test))
"""


def write_cifar(folder: Path) -> None:
    import numpy as np

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {"data": rng.integers(0, 256, (10_000, 3072), dtype=np.uint8), "labels": rng.integers(0, 10, 10_000).tolist()}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)


STL_PHASE = """
import resource, time
from sslviz import data
t = time.perf_counter()
unlabelled = data.load("stl10", "unlabelled")
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(unlabelled))
"""


def write_stl10_unlabelled(folder: Path, n: int = 100_000) -> None:
    import numpy as np

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with open(folder / "unlabeled_X.bin", "wb") as f:
        for _ in range(n // 5000):
            f.write(rng.integers(0, 256, (5000, 3 * 96 * 96), dtype=np.uint8).tobytes())
    for split, count in (("train", 50), ("test", 50)):  # the labelled files must be there too; their size does not matter here
        (folder / f"{split}_X.bin").write_bytes(rng.integers(0, 256, (count, 3 * 96 * 96), dtype=np.uint8).tobytes())
        (folder / f"{split}_y.bin").write_bytes((np.arange(count) % 10 + 1).astype(np.uint8).tobytes())


def stl_rows() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        write_stl10_unlabelled(Path(tmp) / "stl10_binary")
        env = {**os.environ, "SSLVIZ_DATA_DIR": tmp, "PYTHONPATH": str(ROOT)}
        first, first_mb = phase(env, STL_PHASE)
        again, again_mb = phase(env, STL_PHASE)
    return [f"| STL-10 unlabelled, 100,000 images 96 → 32 px (a 2.8 GB file): first load | {first:.2f} | {first_mb:,.0f} |",
            f"| STL-10 unlabelled from the cache (hashes the 2.8 GB file, then reads 0.3 GB) | {again:.2f} | {again_mb:,.0f} |"]


def phase(env: dict, code: str = PHASE) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    return float(out[0]), float(out[1])


def cache_rows() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        write_cifar(Path(tmp) / "cifar-10-batches-py")
        env = {**os.environ, "SSLVIZ_DATA_DIR": tmp, "PYTHONPATH": str(ROOT)}
        first, first_mb = phase(env)
        again, again_mb = phase(env)
    return ["| phase (60,000 images, 32 px, CIFAR-10 layout) | seconds | peak memory MB |", "|---|---:|---:|",
            f"| decode + resize + write the cache (first load) | {first:.2f} | {first_mb:,.0f} |",
            f"| load from the cache (second load, a new process) | {again:.2f} | {again_mb:,.0f} |", *stl_rows()]


def bench(args: list[str], env: dict) -> dict:
    run = subprocess.run([sys.executable, "-m", "sslviz", "bench", "--method", "simclr", "--json", *args], env=env, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(run.stdout)


def equivalence_rows(seconds: float, steps: int) -> list[str]:
    import torch

    from sslviz import data
    from sslviz.data import own

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "shapes-png"
        own.write_folder({split: data.load("shapes", split, 0) for split in ("train", "test")}, folder)
        env = {**os.environ, "SSLVIZ_DATA_DIR": str(Path(tmp) / "data"), "PYTHONPATH": str(ROOT)}
        saved = os.environ.get("SSLVIZ_DATA_DIR")
        os.environ["SSLVIZ_DATA_DIR"] = env["SSLVIZ_DATA_DIR"]  # this process's own load, in the temporary folder
        name = own.prepare_folder(folder, augment="SimCLR + rotation")
        same = all(torch.equal((data.load(name, s).images * 255).round(), (data.load("shapes", s, 0).images * 255).round()) for s in ("train", "test"))
        max_diff = max(float((data.load(name, s).images - data.load("shapes", s, 0).images).abs().max()) for s in ("train", "test"))
        os.environ.pop("SSLVIZ_DATA_DIR") if saved is None else os.environ.__setitem__("SSLVIZ_DATA_DIR", saved)
        rows = [f"Shapes as PNG class folders, loaded as your images: the same 8-bit tensors: **{same}** (largest difference from the "
                f"float originals {max_diff:.4f}, PNG's rounding to 1/255).", "",
                "| budget | dataset | steps | linear probe | kNN | random-init probe | raw-pixel probe |", "|---|---|---:|---:|---:|---:|---:|"]
        for budget, flags in ((f"{seconds:g} s", ["--seconds", str(seconds)]), (f"{steps} steps", ["--steps", str(steps), "--seconds", "3600"])):
            for label, target in (("shapes", ["--dataset", "shapes"]), ("the PNG folders (--data)", ["--data", str(folder), "--augment", "SimCLR + rotation"])):
                r = bench([*target, *flags], env)
                rows.append(f"| {budget} | {label} | {r['steps']} | {r['probe_acc']:.3f} | {r['knn_acc']:.3f} | {r['random_init_probe_acc']:.3f} | "
                            f"{r['raw_pixel_probe_acc']:.3f} |")
    return rows


def cifar_rows(minutes: float) -> list[str]:
    from sslviz import data

    problem = data.missing("cifar10")
    if problem:
        return [f"Not run: the real CIFAR-10 files are not on this machine (no internet here). {problem}"]
    r = bench(["--dataset", "cifar10", "--seconds", str(60 * minutes)], {**os.environ, "PYTHONPATH": str(ROOT)})
    return [f"SimCLR on CIFAR-10 after {minutes:g} min on the CPU ({r['steps']} steps): kNN {r['knn_acc']:.3f} vs random init "
            f"{r['random_init_knn_acc']:.3f}; linear probe {r['probe_acc']:.3f} vs {r['random_init_probe_acc']:.3f}."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--cifar-minutes", type=float, default=5.0)
    args = parser.parse_args()
    body = ["## Real images: the dataset cache, your images vs shapes, CIFAR-10 (real-images)", "", *cache_rows(), "",
            *equivalence_rows(args.seconds, args.steps), "", *cifar_rows(args.cifar_minutes)]
    print("\n".join(body))
    write_section("real-images", "\n".join(body))


if __name__ == "__main__":
    main()
