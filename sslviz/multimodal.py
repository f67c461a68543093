"""What multi-modal models can do that other encoders cannot, measured on held-out data.

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
from sslviz.methods import Method
from sslviz.methods.clip import CLIP
from sslviz.methods.crossmodal import CrossModal
from sslviz.methods.temporal import Temporal
from sslviz.methods.virtex import VirTex
from sslviz.nets import eval_mode
from sslviz.train import take

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


def zero_shot_scores(model: CLIP, dataset: data.Dataset) -> dict[str, float]:
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


@torch.no_grad()
def retrieval_similarity(model: CrossModal | Temporal, dataset: data.Dataset, n: int = RETRIEVAL_PAIRS) -> torch.Tensor:
    """n×n cosine similarity of the first ``n`` test images (rows) and their partners (columns).

    Partners: CLIP's canonical captions, depth maps, sounds; for video, the *last* frame of each clip
    (the image is its first frame), in the space the loss compares them.
    """
    if isinstance(model, Temporal):
        clips = data.pairs(dataset, "video")["clips"][:n]
        with eval_mode(model):
            first, last = (torch.nn.functional.normalize(model.project(clips[:, t].float() / 255), dim=1) for t in (0, -1))
        return (first @ last.T).cpu()
    if isinstance(model, CLIP):
        model.eval()
        u = model.embed_images(dataset.images[:n].to(model.log_scale.device))
        return (u @ model.embed_text(list(dataset.captions[:n])).T).cpu()
    return model.similarity(take(model.inputs(dataset), slice(0, n))).cpu()


def retrieval_scores(model: CrossModal | Temporal, dataset: data.Dataset, n: int = RETRIEVAL_PAIRS) -> dict[str, float]:
    """Recall@1 and @5 both ways among ``n`` held-out pairs (chance: 1/n and 5/n)."""
    sim = retrieval_similarity(model, dataset, n)
    return {"image_to_partner_r1": recall_at_k(sim, 1), "image_to_partner_r5": recall_at_k(sim, 5),
            "partner_to_image_r1": recall_at_k(sim.T, 1), "partner_to_image_r5": recall_at_k(sim.T, 5), "retrieval_pairs": float(len(sim))}


def caption_scores(model: VirTex, dataset: data.Dataset, n: int = 500) -> dict[str, Any]:
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


def report(method: Method, dataset: data.Dataset) -> dict[str, Any]:
    """Everything this module measures that applies to ``method`` (empty for single-modality methods)."""
    was_training = method.training
    method.eval()
    try:
        out: dict[str, Any] = {}
        if isinstance(method, CLIP):
            out.update(zero_shot_scores(method, dataset))
        if isinstance(method, (CrossModal, Temporal)):
            out.update(retrieval_scores(method, dataset))
        if isinstance(method, VirTex):
            out.update(caption_scores(method, dataset))
        return out
    finally:
        method.train(was_training)
