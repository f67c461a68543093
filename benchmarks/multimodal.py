"""Multi-modal SSL on shapes: CLIP zero-shot and retrieval, and every pairing's image encoder vs random init.

    python benchmarks/multimodal.py                 # 5 methods × 60 s, plus a 60-s SimCLR for the attribute comparison; ~9 minutes
    python benchmarks/multimodal.py --seconds 20 --methods clip depth

Replaces the ``multimodal`` section of RESULTS.md with three tables: CLIP's zero-shot accuracy and
recall@k on held-out pairs; kNN/probe on the shape class per method against the random-init
encoder; attributes read from CLIP's and SimCLR's frozen features ("why language").
"""

from __future__ import annotations

import argparse

import torch
from _results import write_section

from sslviz import data, evaluate, experiment, methods
from sslviz.methods import paired_scores
from sslviz.nets import eval_mode
from sslviz.train import configure_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=methods.of_family("multi-modal"), choices=methods.of_family("multi-modal"))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads = configure_threads()
    encoders, rows, reports = {}, [], {}
    for name in args.methods:
        exp = experiment.run(name, "shapes", seconds=args.seconds, seed=args.seed)
        m = exp.metrics
        exp.method.cpu()  # trained on the best device; the reports read CPU tensors (as the pages' publish_results does)
        with torch.no_grad(), eval_mode(exp.method):
            reports[name] = exp.method.report(exp.test_set)["multimodal"]
        encoders[name] = exp.method.encoder
        r = reports[name]
        retrieval = f"{r['image_to_partner_r1']:.2f} / {r['partner_to_image_r1']:.2f}" if "image_to_partner_r1" in r else "—"
        rows.append(f"| {name} | {exp.result.steps} | **{m['knn_acc']:.3f}** | {m['random_init_knn_acc']:.3f} | **{m['knn_acc'] - m['random_init_knn_acc']:+.3f}** | "
                    f"{m['probe_acc']:.3f} | {m['random_init_probe_acc']:.3f} | {m['raw_pixel_knn_acc']:.3f} / {m['raw_pixel_probe_acc']:.3f} | {retrieval} |")
        print(rows[-1], flush=True)
    body = [f"Each method trains {args.seconds:g} s on shapes (seed {args.seed}, {threads} threads) with its registry defaults; the test split "
            "is held out from training. Colour–shape combinations never shown to CLIP or VirTex in training: "
            + ", ".join(f"{c} {s}" for c, s in data.HELD_OUT_COMBOS) + "."]
    if "clip" in reports:
        r = reports["clip"]
        body += ["", "**CLIP: zero-shot and retrieval** (prompts: " + ", ".join(f"“{p}”" for p in paired_scores.ZERO_SHOT_PROMPTS["shape"].values())
                 + "; " + ", ".join(f"“{p}”" for p in paired_scores.ZERO_SHOT_PROMPTS["colour"].values()) + ")", "",
                 "| score | all 1,000 test images | held-out combinations only | chance |", "|---|---|---|---|",
                 f"| zero-shot shape | **{r['zero_shot_shape_acc']:.3f}** | {r['zero_shot_shape_acc_held_out']:.3f} | 0.25 |",
                 f"| zero-shot colour | **{r['zero_shot_colour_acc']:.3f}** | {r['zero_shot_colour_acc_held_out']:.3f} | 0.167 |", "",
                 f"| retrieval among {int(r['retrieval_pairs'])} held-out pairs | recall@1 | recall@5 | chance @1 / @5 |", "|---|---|---|---|",
                 f"| text → image | **{r['partner_to_image_r1']:.2f}** | {r['partner_to_image_r5']:.2f} | 0.01 / 0.05 |",
                 f"| image → text | {r['image_to_partner_r1']:.2f} | {r['image_to_partner_r5']:.2f} | 0.01 / 0.05 |",
                 "", "Captions that describe two different images identically (same shape, colour, size and 3×3 cell) make a strict recall@1 below 1 unavoidable."]
    body += ["", "**Image encoders on the shape class** (frozen features, held-out test split)", "",
             "| method | steps | kNN | random-init kNN | kNN gain | probe | random-init probe | raw pixels kNN / probe | retrieval R@1 image→partner / partner→image |",
             "|---|---|---|---|---|---|---|---|---|", *rows]
    if "virtex" in reports:
        r = reports["virtex"]
        body += ["", f"VirTex captions of 500 test images name the right shape {r['caption_shape_acc']:.3f}, colour {r['caption_colour_acc']:.3f}, "
                 f"size {r['caption_size_acc']:.3f}, position {r['caption_position_acc']:.3f}; exactly right: {r['caption_exact']:.3f}."]
    if "clip" in encoders:
        simclr = experiment.run("simclr", "shapes", seconds=args.seconds, seed=args.seed, with_baselines=False)
        train, test = data.load("shapes", "train", args.seed), data.load("shapes", "test", args.seed)
        body += ["", f"**Why language: attributes read from frozen features** (CLIP vs SimCLR, {args.seconds:g} s each)", "",
                 "| encoder | reader | class | colour | size | position |", "|---|---|---|---|---|---|"]
        for label, encoder in (("CLIP", encoders["clip"]), ("SimCLR", simclr.method.encoder)):
            xtr, xte = evaluate.extract_features(encoder, train.images), evaluate.extract_features(encoder, test.images)
            for how in evaluate.ATTRIBUTE_READERS:
                s = evaluate.attribute_probes(xtr, xte, train, test, how)
                body.append(f"| {label} | {how} | {s['class']:.3f} | {s['colour']:.3f} | {s['size']:.3f} | {s['position']:.3f} |")
                print(body[-1], flush=True)
        chance = evaluate.chance_levels(train, test)
        body.append(f"| chance | most frequent | {chance['class']:.3f} | {chance['colour']:.3f} | {chance['size']:.3f} | {chance['position']:.3f} |")
    write_section("multimodal", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
