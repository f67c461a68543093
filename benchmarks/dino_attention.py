"""Where does DINO's [CLS] token look? The share of its attention on the object's pixels, trained vs random init.

    python benchmarks/dino_attention.py                        # DINO with the ViT backbone, shapes, 120 s, seeds 0 and 1; ~6 minutes
    python benchmarks/dino_attention.py --seconds 60 --seeds 0

The renderer knows each shape's pixels (``data.object_masks``), so the measure needs no labels:
the head-averaged attention of the [CLS] token over the patches in the last block, weighted by how
much of each patch the object covers, averaged over 500 test images. A map that ignores the image
scores the objects' area share. Rows replace the ``dino-attention`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse

import torch
from _results import write_section

from sslviz import data, experiment, methods
from sslviz.methods.dino import attention_on_object
from sslviz.train import configure_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    args = parser.parse_args()
    threads = configure_threads()
    rows = []
    for seed in args.seeds:
        exp = experiment.run("dino", args.dataset, seconds=args.seconds, seed=seed, method_overrides={"backbone": "vit"})
        test = exp.test_set
        masks = data.object_masks(test)[:500]
        torch.manual_seed(seed)
        untrained = methods.create("dino", args.dataset, backbone="vit")
        trained_share = attention_on_object(exp.method.cpu().class_attention(test.images[:500]), masks)
        random_share = attention_on_object(untrained.class_attention(test.images[:500]), masks)
        rows.append(f"| {seed} | {exp.result.steps} | {trained_share:.3f} | {random_share:.3f} | {float(masks.mean()):.3f} | "
                    f"{exp.metrics['knn_acc']:.3f} | {exp.metrics['random_init_knn_acc']:.3f} |")
        print(rows[-1], flush=True)
    write_section("dino-attention", "\n".join([
        "## DINO attention on the object (dino-attention)",
        "",
        f"`benchmarks/dino_attention.py`: DINO with the tiny ViT backbone ([CLS] token, 3 blocks), {args.dataset}, {args.seconds:g} s, {threads} threads. "
        "Share of the last block's [CLS] attention (mean over heads) on the object's pixels, 500 test images; a map blind to the image "
        "scores the area share. kNN on the frozen ViT (test split).",
        "",
        "| seed | steps | trained DINO | random-init ViT | area share (uniform map) | kNN | random-init kNN |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]))


if __name__ == "__main__":
    main()
