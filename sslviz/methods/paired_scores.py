"""What multi-modal models can do that other encoders cannot, measured on held-out data (used by their ``report`` hooks).

- zero-shot classification (CLIP): a list of typed prompts is the classifier;
- retrieval across modalities: rank the partners (captions, depth maps, sounds) of held-out images,
  and the images for each partner, scored as recall@k;
- captioning (VirTex): do the generated captions name the right shape, colour and size?

Every score uses the test split; for CLIP and VirTex it is also split out for the colour–shape
combinations that training never showed (``data.HELD_OUT_COMBOS``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sslviz import data

RETRIEVAL_PAIRS = 100  # held-out pairs ranked against each other (chance recall@1 = 1%)
# The prompts of the zero-shot benchmark: one per class, the words a caption would use.
ZERO_SHOT_PROMPTS = {
    "shape": {name: f"a {name}" for name in data.SHAPE_NAMES},
    "colour": {name: f"something {name}" for name in data.COLOURS},
}


def recall_at_k(similarity: torch.Tensor, k: int = 1) -> float:
    """Share of rows whose own column (the diagonal) is among their ``k`` most similar columns."""
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity must be a square N×N matrix, got {tuple(similarity.shape)}.")
    k = min(k, similarity.shape[1])
    top = similarity.topk(k, dim=1).indices
    return float((top == torch.arange(similarity.shape[0]).unsqueeze(1)).any(1).float().mean())


def zero_shot_scores(model: Any, dataset: data.Dataset) -> dict[str, float]:
    """Zero-shot accuracy for shape and colour with ZERO_SHOT_PROMPTS, on all images and on the held-out combinations."""
    held_out = data.held_out_mask(dataset)
    scores = {}
    for attribute, prompts in ZERO_SHOT_PROMPTS.items():
        names = list(prompts)
        predicted = model.zero_shot(dataset.images, list(prompts.values())).argmax(1).numpy()
        correct = predicted == np.array([names.index(v) for v in dataset.attributes[attribute]])
        scores[f"zero_shot_{attribute}_acc"] = float(correct.mean())
        scores[f"zero_shot_{attribute}_acc_held_out"] = float(correct[held_out].mean())
    return scores


def retrieval_scores(sim: torch.Tensor) -> dict[str, float]:
    """Recall@1 and @5 both ways for an n×n image (rows) × partner (columns) similarity of held-out pairs (chance: 1/n and 5/n)."""
    return {"image_to_partner_r1": recall_at_k(sim, 1), "image_to_partner_r5": recall_at_k(sim, 5),
            "partner_to_image_r1": recall_at_k(sim.T, 1), "partner_to_image_r5": recall_at_k(sim.T, 5), "retrieval_pairs": float(len(sim))}


def caption_scores(model: Any, dataset: data.Dataset, n: int = 500) -> dict[str, Any]:
    """Share of generated captions (first ``n`` test images) that name the true shape, colour, size and position."""
    generated = model.caption(dataset.images[:n])
    attrs = dataset.attributes
    where = [data.position_words(float(x), float(y)) for x, y in zip(attrs["x"][:n], attrs["y"][:n])]
    truth = {"shape": attrs["shape"][:n], "colour": attrs["colour"][:n], "size": attrs["size"][:n], "position": where}
    scores: dict[str, Any] = {f"caption_{a}_acc": float(np.mean([f" {v} " in f" {c} " for v, c in zip(values, generated)])) for a, values in truth.items()}
    scores["caption_exact"] = float(np.mean([c == t for c, t in zip(generated, dataset.captions[:n])]))
    held = np.flatnonzero(data.held_out_mask(dataset)[:n])[:8]
    scores["held_out_examples"] = [{"index": int(i), "generated": generated[i], "true": dataset.captions[i]} for i in held]
    return scores


def unseen_caption_counts(examples: list[dict[str, Any]]) -> tuple[int, int]:
    """Of generated captions of never-seen colour–shape combinations (``generated``, ``true``): how many name
    the true pair, and how many name a pair that training did show instead."""
    def pair(caption: str) -> tuple[str | None, str | None]:
        words = caption.split()
        return next((c for c in data.COLOURS if c in words), None), next((s for s in data.SHAPE_NAMES if s in words), None)

    pairs = [(pair(e["generated"]), pair(e["true"])) for e in examples]
    right = sum(g == t for g, t in pairs)
    seen = sum(g != t and None not in g and g not in data.HELD_OUT_COMBOS for g, t in pairs)
    return right, seen
