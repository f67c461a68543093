"""Self-supervised losses as plain functions — the code the pages show to learners.

Each function states its formula and the paper it comes from; tensor shapes are in comments.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_pair(z1: torch.Tensor, z2: torch.Tensor) -> None:
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must both be N×D with the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}.")
    if z1.shape[0] < 2:
        raise ValueError("info_nce needs a batch of at least 2 images (the other images are the negatives).")


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    r"""NT-Xent / InfoNCE over the 2N views of a batch (SimCLR, Chen et al. 2020, eq. 1).

    z1[i] and z2[i] are embeddings of two augmented views of image i. For every one of the
    2N views as anchor a, with its positive p (the other view of the same image) and the
    other 2N - 2 views of the batch as negatives:

        \ell_a = -\log \frac{\exp(\mathrm{sim}(z_a, z_p)/\tau)}
                          {\sum_{k \ne a} \exp(\mathrm{sim}(z_a, z_k)/\tau)}

    with cosine similarity sim(u, v) = uᵀv / (‖u‖‖v‖). The loss is the mean over all 2N anchors.
    """
    _check_pair(z1, z2)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # 2N×D, unit length: dot product = cosine
    sim = z @ z.T / temperature  # 2N×2N
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))  # an anchor is never its own negative
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)  # 2N
    return F.cross_entropy(sim, positive)  # softmax over the 2N - 1 others, mean over anchors


def info_nce_anchor(z1: torch.Tensor, z2: torch.Tensor, anchor: int, temperature: float) -> dict[str, torch.Tensor]:
    """One anchor's term of ``info_nce``, laid open for the InfoNCE explorer.

    Returns the cosine similarities of view ``anchor`` (an index into the 2N views) to the
    other 2N - 1 views, their softmax at ``temperature``, the index of the positive among
    those others, and the loss -log p(positive). Averaging the loss over all 2N anchors
    gives exactly ``info_nce(z1, z2, temperature)``.
    """
    _check_pair(z1, z2)
    n = z1.shape[0]
    if not 0 <= anchor < 2 * n:
        raise ValueError(f"anchor must be in [0, {2 * n}), got {anchor}.")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # 2N×D
    others = torch.tensor([k for k in range(2 * n) if k != anchor], device=z.device)  # 2N-1
    similarity = z[others] @ z[anchor]  # 2N-1 cosines
    probability = torch.softmax(similarity / temperature, dim=0)
    partner = (anchor + n) % (2 * n)
    positive = int((others == partner).nonzero())
    return {"others": others, "similarity": similarity, "probability": probability, "positive": torch.tensor(positive), "loss": -torch.log(probability[positive])}


def moco_infonce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float,
                 exclude: torch.Tensor | None = None) -> torch.Tensor:
    r"""MoCo's InfoNCE (He et al., 2020, eq. 1): the positive key against a queue of negatives.

        \mathcal{L}_q = -\log \frac{\exp(q\cdot k_+/\tau)}{\exp(q\cdot k_+/\tau) + \sum_{k_- \in \text{queue}} \exp(q\cdot k_-/\tau)}

    q: N×D queries (online encoder), k: N×D keys of the other view (momentum encoder, no
    gradient), queue: K×D keys of earlier batches. All are L2-normalised here. ``exclude`` (N×K
    bool, optional) leaves queue keys out of a query's negatives — e.g. earlier keys of the query's
    own image, which a queue longer than the remaining epoch still holds.
    """
    if q.ndim != 2 or q.shape != k.shape or queue.ndim != 2 or queue.shape[1] != q.shape[1]:
        raise ValueError(f"need q, k: N×D and queue: K×D, got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(queue.shape)}.")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    q, k, queue = F.normalize(q, dim=1), F.normalize(k, dim=1), F.normalize(queue, dim=1)
    positive = (q * k).sum(dim=1, keepdim=True)  # N×1
    negatives = q @ queue.T  # N×K
    if exclude is not None:
        if exclude.shape != negatives.shape:
            raise ValueError(f"exclude must be N×K = {tuple(negatives.shape)}, got {tuple(exclude.shape)}.")
        negatives = negatives.masked_fill(exclude, float("-inf"))  # exp(−inf) = 0: not a negative
    logits = torch.cat([positive, negatives], dim=1) / temperature  # N×(1+K)
    labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)  # the positive is column 0
    return F.cross_entropy(logits, labels)


def clip_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
    r"""CLIP's symmetric InfoNCE over N matching pairs (Radford et al., 2021, fig. 3).

    With unit vectors u_i (image i) and v_j (its caption j) and the scale s = 1/τ:

        \mathcal{L} = \frac{1}{2N}\sum_{i=1}^{N}\Big[
            -\log\frac{e^{s\,u_i\cdot v_i}}{\sum_{j} e^{s\,u_i\cdot v_j}}
            -\log\frac{e^{s\,u_i\cdot v_i}}{\sum_{j} e^{s\,u_j\cdot v_i}}\Big]

    The first term picks the right caption for each image (rows), the second the right image
    for each caption (columns); every other pair in the batch is a negative. The same loss pairs
    any two modalities (RGB and depth, image and sound). ``logit_scale`` s is a learnable
    parameter in CLIP (stored as log s, clamped at 100).
    """
    _check_pair(image_emb, text_emb)
    u, v = F.normalize(image_emb, dim=1), F.normalize(text_emb, dim=1)  # N×D each
    logits = logit_scale * u @ v.T  # N×N: row i = image i against every caption
    target = torch.arange(u.shape[0], device=u.device)  # the matching pair is on the diagonal
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""SimSiam's D(p, z) = -\frac{p}{\lVert p\rVert}\cdot\frac{z}{\lVert z\rVert}, mean over the batch (Chen & He, 2021).

    BYOL's loss 2 - 2·cos(p, z) (Grill et al., 2020, eq. 2) is the same up to an affine map.
    The caller decides whether z carries a gradient (stop-gradient is the whole trick).
    """
    if p.shape != z.shape or p.ndim != 2:
        raise ValueError(f"p and z must both be N×D with the same shape, got {tuple(p.shape)} and {tuple(z.shape)}.")
    return -(F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(dim=1).mean()


def byol_loss(p: torch.Tensor, z_target: torch.Tensor) -> torch.Tensor:
    r"""BYOL (Grill et al., 2020, eq. 2): \lVert \bar p - \bar z'\rVert_2^2 = 2 - 2\cos(p, z').

    p: N×D online predictions, z_target: N×D target projections (detached by the caller).
    """
    return 2 + 2 * negative_cosine(p, z_target)


def normalise_patches(patches: torch.Tensor) -> torch.Tensor:
    """MAE's norm-pix targets: each patch (last dimension) minus its mean, divided by its standard deviation (+1e-6 in the variance)."""
    return (patches - patches.mean(dim=-1, keepdim=True)) / (patches.var(dim=-1, keepdim=True) + 1e-6).sqrt()


def masked_reconstruction_loss(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, masked_only: bool = True, norm_pix: bool = False
) -> torch.Tensor:
    r"""MAE's loss (He et al., 2022, sec. 3): mean squared error per patch, averaged over the hidden patches.

        \mathcal{L} = \frac{1}{|M|} \sum_{i \in M} \frac{1}{P} \lVert \hat{x}_i - x_i \rVert^2

    pred, target: N×L×P (L patches of P pixel values each); mask: N×L, True where a patch was
    hidden from the encoder (the set M). ``masked_only=False`` averages over all L patches
    instead — the paper reports that this is worse: copying visible pixels is a trivial task.
    ``norm_pix`` normalises each target patch by its own mean and standard deviation (the
    paper's improvement): the loss then cares about local contrast, not absolute brightness.
    """
    if pred.shape != target.shape or pred.ndim != 3 or mask.shape != pred.shape[:2]:
        raise ValueError(f"pred and target must be N×L×P and mask N×L, got {tuple(pred.shape)}, {tuple(target.shape)}, {tuple(mask.shape)}.")
    if norm_pix:
        target = normalise_patches(target)
    per_patch = ((pred - target) ** 2).mean(dim=-1)  # N×L
    if not masked_only:
        return per_patch.mean()
    weights = mask.float()
    if weights.sum() == 0:
        raise ValueError("no patch is masked: use masked_only=False or a mask ratio above 0.")
    return (per_patch * weights).sum() / weights.sum()
