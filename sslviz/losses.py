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
    positive = torch.arange(2 * n, device=z.device).roll(n)  # 2N: n, …, 2N−1, 0, …, n−1 (made on z's device: no copy)
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
    # Checked where the read is free; on a GPU it would synchronise every step (MAEConfig already
    # refuses a ratio that hides no patch when the loss is on hidden patches only).
    if weights.device.type == "cpu" and weights.sum() == 0:
        raise ValueError("no patch is masked: use masked_only=False or a mask ratio above 0.")
    return (per_patch * weights).sum() / weights.sum()


def _check_views(z1: torch.Tensor, z2: torch.Tensor, what: str) -> None:
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"{what}: z1 and z2 must both be N×D with the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}.")
    if z1.shape[0] < 2:
        raise ValueError(f"{what} needs a batch of at least 2 images (it uses statistics over the batch).")


def off_diagonal(m: torch.Tensor) -> torch.Tensor:
    """A square matrix with its diagonal set to 0 (the redundancy terms of Barlow Twins and VICReg)."""
    return m - torch.diag_embed(m.diagonal())


def cross_correlation(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    r"""Barlow Twins' D×D cross-correlation matrix of two views' embeddings (Zbontar et al., 2021, eq. 2).

        \mathcal{C}_{ij} = \frac{1}{N}\sum_b \hat z^A_{b,i}\,\hat z^B_{b,j}

    where each dimension of z1, z2 (N×D) is standardised over the batch (mean 0, std 1, as batch
    norm without affine does). The identity matrix is the target: every dimension agrees across
    the two views (diagonal 1) and carries information no other dimension carries (off-diagonal 0).
    """
    _check_views(z1, z2, "cross_correlation")
    a = F.batch_norm(z1, None, None, training=True)  # N×D, per dimension: mean 0, variance 1 over the batch
    b = F.batch_norm(z2, None, None, training=True)
    return a.T @ b / z1.shape[0]  # D×D


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, lambd: float = 5e-3) -> torch.Tensor:
    r"""Barlow Twins (Zbontar et al., 2021, eq. 1): push the cross-correlation of the two views to the identity.

        \mathcal{L} = \sum_i (1 - \mathcal{C}_{ii})^2 + \lambda \sum_i \sum_{j \ne i} \mathcal{C}_{ij}^2

    The first (invariance) term makes each dimension agree across views; the second (redundancy
    reduction) decorrelates the dimensions, so they cannot all encode the same thing — which is
    how Barlow Twins avoids collapse without negatives, predictor or momentum encoder.
    """
    return barlow_twins_objective(cross_correlation(z1, z2), lambd)


def barlow_twins_objective(c: torch.Tensor, lambd: float) -> torch.Tensor:
    r"""The Barlow Twins loss from an already computed D×D cross-correlation matrix C (see :func:`barlow_twins_loss`)."""
    if not lambd >= 0:
        raise ValueError(f"lambd must be >= 0, got {lambd}.")
    return (1 - c.diagonal()).pow(2).sum() + lambd * off_diagonal(c).pow(2).sum()


def vicreg_terms(z1: torch.Tensor, z2: torch.Tensor, eps: float = 1e-4) -> dict[str, torch.Tensor]:
    r"""VICReg's three terms (Bardes et al., 2022, eqs. 1–5) for embeddings z1, z2 (N×D).

    - invariance s = \frac{1}{N}\sum_b \lVert z_b - z'_b\rVert^2 / D (mean squared error),
    - variance v(Z) = \frac{1}{D}\sum_j \max(0, 1 - \sqrt{\mathrm{Var}(z_{:,j}) + \epsilon}), averaged over both views,
    - covariance c(Z) = \frac{1}{D}\sum_{i \ne j} C(Z)_{ij}^2, summed over both views, with C the covariance matrix.

    Variance keeps every dimension's std at 1 or above (no collapse to a point); covariance
    decorrelates dimensions (no collapse to a line).
    """
    _check_views(z1, z2, "vicreg")

    def variance(z: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - (z.var(dim=0) + eps).sqrt()).mean()

    def covariance(z: torch.Tensor) -> torch.Tensor:
        centred = z - z.mean(dim=0)
        cov = centred.T @ centred / (z.shape[0] - 1)  # D×D
        return off_diagonal(cov).pow(2).sum() / z.shape[1]

    return {"invariance": F.mse_loss(z1, z2), "variance": (variance(z1) + variance(z2)) / 2, "covariance": covariance(z1) + covariance(z2)}


def vicreg_loss(z1: torch.Tensor, z2: torch.Tensor, invariance_weight: float = 25.0, variance_weight: float = 25.0,
                covariance_weight: float = 1.0) -> torch.Tensor:
    r"""VICReg (Bardes et al., 2022, eq. 6): \lambda\, s(Z, Z') + \mu\,[v(Z) + v(Z')]/2 + \nu\,[c(Z) + c(Z')].

    The paper's weights are λ = μ = 25, ν = 1; see :func:`vicreg_terms` for the three terms.
    """
    if min(invariance_weight, variance_weight, covariance_weight) < 0:
        raise ValueError(f"the VICReg weights must be >= 0, got {invariance_weight}, {variance_weight}, {covariance_weight}.")
    t = vicreg_terms(z1, z2)
    return invariance_weight * t["invariance"] + variance_weight * t["variance"] + covariance_weight * t["covariance"]


def dino_loss(student: torch.Tensor, teacher: torch.Tensor, center: torch.Tensor, student_temperature: float = 0.1,
              teacher_temperature: float = 0.04) -> torch.Tensor:
    r"""DINO (Caron et al., 2021, eq. 3 and Algorithm 1): the student's softmax matches the teacher's, across views.

        P_t = \mathrm{softmax}((g_t(x) - c) / \tau_t), \qquad P_s = \mathrm{softmax}(g_s(x') / \tau_s), \qquad
        \mathcal{L} = \sum_{x \ne x'} -P_t(x)\cdot\log P_s(x')

    student: V×N×K logits of V views, teacher: T×N×K logits (no gradient) of the first T of those
    views; pairs of the same view are skipped and the loss is the mean over the other pairs and the
    batch. ``center`` (K) is subtracted from the teacher's logits: centring stops one output from
    dominating, the low teacher temperature τ_t sharpens — each alone collapses, together they do not.
    """
    if student.ndim != 3 or teacher.ndim != 3 or student.shape[1:] != teacher.shape[1:] or teacher.shape[0] > student.shape[0]:
        raise ValueError(f"need student V×N×K and teacher T×N×K logits with T <= V, got {tuple(student.shape)} and {tuple(teacher.shape)}.")
    if center.shape[-1] != student.shape[-1]:
        raise ValueError(f"center must have K = {student.shape[-1]} entries, got shape {tuple(center.shape)}.")
    if not (student_temperature > 0 and teacher_temperature > 0):
        raise ValueError(f"temperatures must be > 0, got student {student_temperature} and teacher {teacher_temperature}.")
    if student.shape[0] < 2:
        raise ValueError("dino_loss needs at least two views: the student predicts the teacher's output for another view.")
    p_teacher = ((teacher - center.reshape(1, 1, -1)) / teacher_temperature).softmax(dim=-1)  # T×N×K
    log_p_student = (student / student_temperature).log_softmax(dim=-1)  # V×N×K
    cross = -torch.einsum("tnk,vnk->tv", p_teacher, log_p_student)  # T×V, each summed over the batch
    same_view = torch.eye(teacher.shape[0], student.shape[0], dtype=torch.bool, device=student.device)
    pairs = cross.numel() - min(teacher.shape[0], student.shape[0])  # the same-view pairs left out (an eye's ones), counted without a device read
    return cross.masked_fill(same_view, 0).sum() / (pairs * student.shape[1])


@torch.no_grad()
def dino_center(center: torch.Tensor, teacher: torch.Tensor, momentum: float = 0.9) -> torch.Tensor:
    """DINO's centre update (Caron et al., 2021, eq. 4): c ← m·c + (1 − m)·mean of the teacher's logits over views and batch."""
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}.")
    return momentum * center + (1 - momentum) * teacher.reshape(-1, teacher.shape[-1]).mean(dim=0)


@torch.no_grad()
def sinkhorn(scores: torch.Tensor, iterations: int = 3, epsilon: float = 0.05) -> torch.Tensor:
    r"""SwAV's Sinkhorn–Knopp codes (Caron et al., 2020, sec. 3.1 and Algorithm 1): soft assignments with equal partition.

    scores: N×K similarities of N features to K prototypes. Q = exp(scores / ε) is rescaled
    alternately so that each prototype receives 1/K of the batch and each image a total of 1/N;
    the result (times N) is N×K, each row a distribution over prototypes. The equal partition is what
    stops every image from landing in one prototype.
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must be N×K, got shape {tuple(scores.shape)}.")
    if iterations < 1 or not epsilon > 0:
        raise ValueError(f"need iterations >= 1 and epsilon > 0, got {iterations} and {epsilon}.")
    q = torch.exp((scores - scores.max()) / epsilon).T  # K×N; subtracting the max changes nothing after normalising
    q /= q.sum()
    k, n = q.shape
    for _ in range(iterations):
        q /= q.sum(dim=1, keepdim=True) * k  # each prototype (row) sums to 1/K
        q /= q.sum(dim=0, keepdim=True) * n  # each image (column) sums to 1/N
    return (q * n).T  # N×K, rows sum to 1


def swav_loss(scores1: torch.Tensor, scores2: torch.Tensor, temperature: float = 0.1, iterations: int = 3, epsilon: float = 0.05,
              equipartition: bool = True) -> torch.Tensor:
    r"""SwAV's swapped prediction (Caron et al., 2020, eq. 1): each view predicts the other view's code.

        \mathcal{L} = \tfrac12\big[\ell(z_1, q_2) + \ell(z_2, q_1)\big], \qquad
        \ell(z, q) = -\sum_k q_k \log \mathrm{softmax}(z \cdot C / \tau)_k

    scores1, scores2: N×K similarities of the two views' normalised features to the K prototypes C.
    The codes q come from :func:`sinkhorn` (no gradient). ``equipartition=False`` uses the plain
    softmax of the scores at ε as the code instead — nothing then stops all images sharing one prototype.
    """
    if scores1.ndim != 2 or scores1.shape != scores2.shape:
        raise ValueError(f"scores1 and scores2 must both be N×K with the same shape, got {tuple(scores1.shape)} and {tuple(scores2.shape)}.")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    with torch.no_grad():
        if equipartition:
            q1, q2 = sinkhorn(scores1.detach(), iterations, epsilon), sinkhorn(scores2.detach(), iterations, epsilon)
        else:
            q1, q2 = (scores1.detach() / epsilon).softmax(dim=1), (scores2.detach() / epsilon).softmax(dim=1)

    def predict(scores: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return -(code * (scores / temperature).log_softmax(dim=1)).sum(dim=1).mean()

    return (predict(scores1, q2) + predict(scores2, q1)) / 2
