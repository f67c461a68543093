"""The redundancy-reduction, self-distillation and prototype losses against lightly's implementations
and against slow loop references written from each paper's pseudocode (float64 loops)."""

import math

import pytest
import torch
from lightly.loss import BarlowTwinsLoss, DINOLoss, NegativeCosineSimilarity, NTXentLoss, SwaVLoss, VICRegLoss
from lightly.loss.swav_loss import sinkhorn as lightly_sinkhorn

from sslviz import losses

SHAPES = [(4, 3), (16, 8), (64, 32)]


def pair(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed * 1000 + n * 10 + d)
    z1 = torch.randn(n, d, generator=g)
    return z1, 0.7 * z1 + torch.randn(n, d, generator=g)  # correlated views, like real positives


# ----------------------------------------------------------------------------- loop references


def barlow_reference(z1, z2, lambd):
    """Barlow Twins, Algorithm 1: standardise along the batch, C = z_aᵀ z_b / N, then the two sums."""
    n, d = z1.shape
    a, b = z1.double(), z2.double()
    a = (a - a.mean(0)) / a.std(0, unbiased=False)
    b = (b - b.mean(0)) / b.std(0, unbiased=False)
    total = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(float(a[k, i] * b[k, j]) for k in range(n)) / n
            total += (1 - c) ** 2 if i == j else lambd * c**2
    return total


def vicreg_reference(z1, z2, lam, mu, nu, eps=1e-4):
    """VICReg, Algorithm 1 (the paper's PyTorch pseudocode), in loops."""
    n, d = z1.shape
    a, b = z1.double(), z2.double()
    sim = sum(float((a[k, j] - b[k, j]) ** 2) for k in range(n) for j in range(d)) / (n * d)

    def std_term(z):
        out = 0.0
        for j in range(d):
            col = z[:, j]
            var = sum(float((col[k] - col.mean()) ** 2) for k in range(n)) / (n - 1)
            out += max(0.0, 1 - math.sqrt(var + eps))
        return out / d

    def cov_term(z):
        zc = z - z.mean(0)
        out = 0.0
        for i in range(d):
            for j in range(d):
                if i != j:
                    out += (sum(float(zc[k, i] * zc[k, j]) for k in range(n)) / (n - 1)) ** 2
        return out / d

    return lam * sim + mu * (std_term(a) / 2 + std_term(b) / 2) + nu * (cov_term(a) + cov_term(b))


def dino_reference(student, teacher, center, tau_s, tau_t):
    """DINO, Algorithm 1: H(t, s) = −Σ softmax((t − C)/τ_t) · log softmax(s/τ_s), over view pairs x ≠ x'."""
    total, pairs = 0.0, 0
    for t in range(teacher.shape[0]):
        for v in range(student.shape[0]):
            if t == v:
                continue
            pairs += 1
            for n in range(student.shape[1]):
                pt = ((teacher[t, n].double() - center.double()) / tau_t).softmax(0)
                ls = (student[v, n].double() / tau_s).log_softmax(0)
                total += -float((pt * ls).sum())
    return total / (pairs * student.shape[1])


def sinkhorn_reference(scores, iterations, epsilon):
    """SwAV, Algorithm 1 (distributed_sinkhorn on one worker), written with explicit rows and columns."""
    q = (scores.double() / epsilon).exp().T.clone()  # K×B
    k, b = q.shape
    q /= q.sum()
    for _ in range(iterations):
        for r in range(k):
            q[r] /= q[r].sum() * k
        for c in range(b):
            q[:, c] /= q[:, c].sum() * b
    return (q * b).T


def swav_reference(s1, s2, tau, iterations, epsilon):
    q1, q2 = sinkhorn_reference(s1, iterations, epsilon), sinkhorn_reference(s2, iterations, epsilon)
    total = 0.0
    for n in range(s1.shape[0]):
        total += -float((q2[n] * (s1[n].double() / tau).log_softmax(0)).sum())
        total += -float((q1[n] * (s2[n].double() / tau).log_softmax(0)).sum())
    return total / (2 * s1.shape[0])


def prototype_scores(n: int, k: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities of two views' unit features to k unit prototypes, as SwAV computes them."""
    z1, z2 = pair(n, d, seed)
    prototypes = torch.nn.functional.normalize(torch.randn(k, d, generator=torch.Generator().manual_seed(seed)), dim=1)
    return torch.nn.functional.normalize(z1, dim=1) @ prototypes.T, torch.nn.functional.normalize(z2, dim=1) @ prototypes.T


# ----------------------------------------------------------------------------- Barlow Twins


@pytest.mark.parametrize("n, d", SHAPES)
@pytest.mark.parametrize("lambd", [0.0, 5e-3, 0.1])
def test_barlow_twins_matches_lightly(n, d, lambd):
    z1, z2 = pair(n, d, 0)
    ours = losses.barlow_twins_loss(z1, z2, lambd)
    assert ours.item() == pytest.approx(BarlowTwinsLoss(lambda_param=lambd)(z1, z2).item(), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("n, d", SHAPES[:2])
@pytest.mark.parametrize("lambd", [5e-3, 0.5])
def test_barlow_twins_matches_paper_loops(n, d, lambd):
    z1, z2 = pair(n, d, 1)
    assert losses.barlow_twins_loss(z1, z2, lambd).item() == pytest.approx(barlow_reference(z1, z2, lambd), rel=1e-4, abs=1e-4)


def test_cross_correlation_of_identical_views_has_unit_diagonal():
    z = torch.randn(32, 6)
    c = losses.cross_correlation(z, z)
    assert torch.allclose(c.diagonal(), torch.ones(6), atol=1e-4)
    assert losses.barlow_twins_loss(z, z, 0.0).item() == pytest.approx(0.0, abs=1e-6)


# ----------------------------------------------------------------------------- VICReg


@pytest.mark.parametrize("n, d", SHAPES)
@pytest.mark.parametrize("weights", [(25.0, 25.0, 1.0), (1.0, 0.0, 0.0), (0.0, 3.0, 10.0)])
def test_vicreg_matches_lightly(n, d, weights):
    z1, z2 = pair(n, d, 2)
    lam, mu, nu = weights
    theirs = VICRegLoss(lambda_param=lam, mu_param=mu, nu_param=nu)(z1, z2)
    assert losses.vicreg_loss(z1, z2, lam, mu, nu).item() == pytest.approx(theirs.item(), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("n, d", SHAPES[:2])
def test_vicreg_matches_paper_loops(n, d):
    z1, z2 = pair(n, d, 3) if n > 4 else (0.1 * pair(n, d, 3)[0], 0.1 * pair(n, d, 3)[1])  # small std: the hinge is active
    assert losses.vicreg_loss(z1, z2, 25, 25, 1).item() == pytest.approx(vicreg_reference(z1, z2, 25, 25, 1), rel=1e-4, abs=1e-4)


def test_vicreg_variance_term_is_one_for_a_constant_output():
    z = torch.ones(8, 5)
    assert losses.vicreg_terms(z, z)["variance"].item() == pytest.approx(1 - math.sqrt(1e-4), abs=1e-6)


# ----------------------------------------------------------------------------- DINO


@pytest.mark.parametrize("views, n, k", [(2, 4, 3), (2, 16, 64), (4, 8, 32)])
@pytest.mark.parametrize("temps", [(0.1, 0.04), (0.1, 0.1), (0.5, 0.07)])
def test_dino_matches_lightly(views, n, k, temps):
    g = torch.Generator().manual_seed(views * 100 + n + k)
    student, teacher = torch.randn(views, n, k, generator=g), torch.randn(2, n, k, generator=g)
    center = 0.3 * torch.randn(k, generator=g)
    theirs = DINOLoss(output_dim=k, teacher_temp=temps[1], warmup_teacher_temp=temps[1], student_temp=temps[0])
    theirs.center.copy_(center.reshape(1, 1, k))
    expected = theirs(list(teacher), list(student))
    assert losses.dino_loss(student, teacher, center, *temps).item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-5)
    # lightly updates its centre in the same call; ours is a separate function with the same rule
    assert torch.allclose(losses.dino_center(center, teacher, 0.9), theirs.center.reshape(k), atol=1e-6)


@pytest.mark.parametrize("views, n, k", [(2, 3, 4), (3, 5, 6)])
def test_dino_matches_paper_loops(views, n, k):
    g = torch.Generator().manual_seed(7)
    student, teacher, center = torch.randn(views, n, k, generator=g), torch.randn(2, n, k, generator=g), torch.randn(k, generator=g)
    assert losses.dino_loss(student, teacher, center, 0.1, 0.04).item() == pytest.approx(dino_reference(student, teacher, center, 0.1, 0.04), rel=1e-5)


# ----------------------------------------------------------------------------- SwAV


@pytest.mark.parametrize("n, k, d", [(8, 4, 3), (32, 16, 8), (64, 32, 16)])
@pytest.mark.parametrize("iterations, epsilon", [(1, 0.05), (3, 0.05), (5, 0.1)])
def test_sinkhorn_matches_lightly_and_loops(n, k, d, iterations, epsilon):
    s1, _ = prototype_scores(n, k, d, 4)
    ours = losses.sinkhorn(s1, iterations, epsilon)
    assert torch.allclose(ours, lightly_sinkhorn(s1, iterations, epsilon), atol=1e-5)
    assert torch.allclose(ours.double(), sinkhorn_reference(s1, iterations, epsilon), atol=1e-5)
    assert torch.allclose(ours.sum(dim=1), torch.ones(n), atol=1e-5)  # every image's code is a distribution


@pytest.mark.parametrize("n, k, d", [(8, 4, 3), (32, 16, 8), (64, 32, 16)])
@pytest.mark.parametrize("temperature, epsilon", [(0.1, 0.05), (0.2, 0.1)])
def test_swav_matches_lightly_and_loops(n, k, d, temperature, epsilon):
    s1, s2 = prototype_scores(n, k, d, 5)
    ours = losses.swav_loss(s1, s2, temperature, 3, epsilon)
    theirs = SwaVLoss(temperature=temperature, sinkhorn_iterations=3, sinkhorn_epsilon=epsilon)([s1, s2], [])
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5, abs=1e-5)
    assert ours.item() == pytest.approx(swav_reference(s1, s2, temperature, 3, epsilon), rel=1e-5, abs=1e-5)


def test_sinkhorn_spreads_a_batch_that_prefers_one_prototype():
    scores = torch.zeros(40, 8)
    scores[:, 0] = 0.5  # every image is closest to prototype 0
    equal = losses.sinkhorn(scores, iterations=10, epsilon=0.05)
    assert equal.sum(dim=0).max().item() == pytest.approx(5.0, abs=0.1)  # 40 images, 8 prototypes: 5 each
    assert (scores / 0.05).softmax(dim=1).argmax(dim=1).eq(0).all()  # without the equal partition, all 40 go to prototype 0


# ----------------------------------------------------------------------------- the earlier losses, against lightly too


@pytest.mark.parametrize("n, d", SHAPES)
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_info_nce_matches_lightly(n, d, tau):
    z1, z2 = pair(n, d, 6)
    assert losses.info_nce(z1, z2, tau).item() == pytest.approx(NTXentLoss(temperature=tau)(z1, z2).item(), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("n, d", SHAPES)
def test_negative_cosine_matches_lightly(n, d):
    p, z = pair(n, d, 8)
    assert losses.negative_cosine(p, z).item() == pytest.approx(NegativeCosineSimilarity()(p, z).item(), abs=1e-6)


# ----------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize("call, match", [
    (lambda: losses.barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 5)), "same shape"),
    (lambda: losses.barlow_twins_loss(torch.randn(1, 3), torch.randn(1, 3)), "at least 2"),
    (lambda: losses.barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 3), -1.0), "lambd"),
    (lambda: losses.vicreg_loss(torch.randn(4, 3), torch.randn(4, 3), variance_weight=-1), "weights"),
    (lambda: losses.dino_loss(torch.randn(1, 4, 3), torch.randn(1, 4, 3), torch.zeros(3)), "two views"),
    (lambda: losses.dino_loss(torch.randn(2, 4, 3), torch.randn(2, 4, 3), torch.zeros(5)), "center"),
    (lambda: losses.dino_loss(torch.randn(2, 4, 3), torch.randn(2, 4, 3), torch.zeros(3), teacher_temperature=0), "temperatures"),
    (lambda: losses.sinkhorn(torch.randn(4, 3), iterations=0), "iterations"),
    (lambda: losses.swav_loss(torch.randn(4, 3), torch.randn(5, 3)), "same shape"),
])
def test_new_losses_validate(call, match):
    with pytest.raises(ValueError, match=match):
        call()
