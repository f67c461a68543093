"""Each loss against a slow reference written straight from the paper's formula."""

import math

import pytest
import torch

from sslviz.losses import byol_loss, info_nce, info_nce_anchor, moco_infonce, negative_cosine


def info_nce_reference(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    """SimCLR eq. 1, one anchor at a time, with explicit loops."""
    z = torch.cat([z1, z2]).double()
    n2 = z.shape[0]
    n = n2 // 2

    def sim(u, v):
        return float(u @ v) / (float(u.norm()) * float(v.norm()))

    total = 0.0
    for a in range(n2):
        p = (a + n) % n2
        numerator = math.exp(sim(z[a], z[p]) / tau)
        denominator = sum(math.exp(sim(z[a], z[k]) / tau) for k in range(n2) if k != a)
        total += -math.log(numerator / denominator)
    return total / n2


@pytest.mark.parametrize("n, d", [(2, 3), (5, 8), (16, 32)])
@pytest.mark.parametrize("tau", [0.05, 0.2, 0.5, 1.0])
def test_info_nce_matches_reference(n, d, tau):
    g = torch.Generator().manual_seed(n * 100 + d)
    z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    assert info_nce(z1, z2, tau).item() == pytest.approx(info_nce_reference(z1, z2, tau), abs=1e-5)


def test_info_nce_is_invariant_to_rescaling():
    z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
    scales = torch.rand(8, 1) * 10 + 0.1
    base = info_nce(z1, z2, 0.3)
    assert info_nce(z1 * scales, z2 * 7.5, 0.3).item() == pytest.approx(base.item(), abs=1e-5)


def test_info_nce_rewards_aligned_views():
    z1 = torch.randn(8, 16)
    aligned = info_nce(z1, z1 + 0.01 * torch.randn(8, 16), 0.2)
    random = info_nce(z1, torch.randn(8, 16), 0.2)
    assert aligned < random


def test_anchor_terms_average_to_the_loss():
    z1, z2 = torch.randn(6, 4), torch.randn(6, 4)
    terms = [info_nce_anchor(z1, z2, a, 0.5) for a in range(12)]
    assert torch.stack([t["loss"] for t in terms]).mean().item() == pytest.approx(info_nce(z1, z2, 0.5).item(), abs=1e-5)
    t = terms[3]
    assert t["similarity"].shape == (11,) and t["probability"].sum().item() == pytest.approx(1.0, abs=1e-6)
    assert int(t["others"][t["positive"]]) == 9  # view 3's partner is view 3 + N


def test_low_temperature_sharpens_the_softmax():
    z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
    sharp = info_nce_anchor(z1, z2, 0, 0.01)["probability"].max()
    flat = info_nce_anchor(z1, z2, 0, 2.0)["probability"].max()
    assert sharp > flat


@pytest.mark.parametrize("z1, z2, tau, match", [
    (torch.randn(4, 3), torch.randn(5, 3), 0.5, "same shape"),
    (torch.randn(1, 3), torch.randn(1, 3), 0.5, "at least 2"),
    (torch.randn(4, 3), torch.randn(4, 3), 0.0, "temperature"),
    (torch.randn(4), torch.randn(4), 0.5, "N×D"),
])
def test_info_nce_validates(z1, z2, tau, match):
    with pytest.raises(ValueError, match=match):
        info_nce(z1, z2, tau)


def moco_reference(q, k, queue, tau):
    """MoCo eq. 1 with loops: -log exp(q·k+/τ) / (exp(q·k+/τ) + Σ exp(q·k−/τ))."""
    def unit(v):
        return v / v.norm()
    total = 0.0
    for i in range(q.shape[0]):
        qi = unit(q[i].double())
        pos = math.exp(float(qi @ unit(k[i].double())) / tau)
        neg = sum(math.exp(float(qi @ unit(n.double())) / tau) for n in queue)
        total += -math.log(pos / (pos + neg))
    return total / q.shape[0]


@pytest.mark.parametrize("n, k, d", [(2, 1, 3), (4, 10, 8)])
@pytest.mark.parametrize("tau", [0.07, 0.2, 1.0])
def test_moco_infonce_matches_reference(n, k, d, tau):
    q, key, queue = torch.randn(n, d), torch.randn(n, d), torch.randn(k, d)
    assert moco_infonce(q, key, queue, tau).item() == pytest.approx(moco_reference(q, key, queue, tau), abs=1e-5)


def test_negative_cosine_and_byol():
    p, z = torch.randn(5, 4), torch.randn(5, 4)
    cos = torch.nn.functional.cosine_similarity(p, z, dim=1)
    assert negative_cosine(p, z).item() == pytest.approx(-cos.mean().item(), abs=1e-6)
    pn, zn = p / p.norm(dim=1, keepdim=True), z / z.norm(dim=1, keepdim=True)
    assert byol_loss(p, z).item() == pytest.approx(((pn - zn) ** 2).sum(1).mean().item(), abs=1e-5)
    assert byol_loss(p, 3 * p).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        negative_cosine(torch.randn(3, 2), torch.randn(3, 3))
    with pytest.raises(ValueError):
        moco_infonce(torch.randn(3, 2), torch.randn(3, 2), torch.randn(4, 3), 0.2)
