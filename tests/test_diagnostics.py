"""Embedding-health metrics against direct implementations of their formulas."""

import math

import pytest
import torch

from sslviz import diagnostics as d


def unit(x):
    return x / x.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_alignment_matches_formula(alpha):
    z1, z2 = torch.randn(7, 5), torch.randn(7, 5)
    u, v = unit(z1), unit(z2)
    expected = sum(float((u[i] - v[i]).norm()) ** alpha for i in range(7)) / 7
    assert d.alignment(z1, z2, alpha).item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("t", [1.0, 2.0])
def test_uniformity_matches_formula(t):
    z = torch.randn(6, 4)
    u = unit(z)
    terms = [math.exp(-t * float((u[i] - u[j]).norm()) ** 2) for i in range(6) for j in range(i + 1, 6)]
    assert d.uniformity(z, t).item() == pytest.approx(math.log(sum(terms) / len(terms)), abs=1e-5)


def test_health_uniformity_is_wang_and_isola_per_view_average():
    # Their loop: uniformity of each view's batch on its own, then the mean of the two.
    z1, z2 = torch.randn(6, 4), torch.randn(6, 4)

    def loop(z):
        u = unit(z)
        terms = [math.exp(-2 * float((u[i] - u[j]).norm()) ** 2) for i in range(6) for j in range(i + 1, 6)]
        return math.log(sum(terms) / len(terms))

    assert d.embedding_health(z1, z2)["uniformity"].item() == pytest.approx((loop(z1) + loop(z2)) / 2, abs=1e-5)
    # Pooled views would count each image's own positive as a pair to spread: identical views differ.
    assert d.embedding_health(z1, z1)["uniformity"].item() == pytest.approx(loop(z1), abs=1e-5)
    assert d.uniformity(torch.cat([z1, z1])).item() > loop(z1)


def test_collapsed_embeddings_score_as_collapsed():
    same = torch.ones(32, 8) + 1e-6 * torch.randn(32, 8)
    assert d.uniformity(same).item() == pytest.approx(0.0, abs=1e-4)
    assert d.embedding_std(same).item() < 1e-4
    line = torch.randn(32, 1) * torch.tensor([[1.0, 2.0, -1.0, 0.5]])
    assert d.effective_rank(line).item() == pytest.approx(1.0, abs=1e-3)


def test_spread_embeddings_score_as_healthy():
    z = torch.randn(2000, 16)
    assert d.embedding_std(z).item() == pytest.approx(1 / math.sqrt(16), rel=0.05)
    assert d.effective_rank(z).item() > 14
    assert d.effective_rank(torch.full((3, 3), float("nan"))).isnan()


def rows(std, rank, n=6):
    return [{"embedding_std": std, "effective_rank": rank}] * n


def test_is_collapsed():
    assert d.is_collapsed(rows(0.001, 5.0), dim=64)
    assert d.is_collapsed(rows(0.1, 1.1), dim=64)
    assert not d.is_collapsed(rows(0.1, 20.0), dim=64)
    assert not d.is_collapsed(rows(0.001, 1.0, n=1), dim=64)  # one step is not evidence
    assert not d.is_collapsed([], dim=64)


def test_collapse_kind_tells_total_from_dimensional():
    assert d.collapse_kind(rows(0.001, 5.0), dim=64) == "total"  # no spread at all
    assert d.collapse_kind(rows(0.1, 1.2), dim=64) == "total"  # spread along a single line
    assert d.collapse_kind(rows(0.1, 2.5), dim=64) == "dimensional"  # varies, but in 2.5 of 64 directions
    assert d.collapse_kind(rows(0.1, 2.5), dim=16) is None  # 2.5 of 16 is above 5 %
    assert d.collapse_kind(rows(0.1, 20.0), dim=64) is None
    # the real thing: 64-D embeddings that vary along two directions only
    z = torch.randn(256, 2) @ torch.randn(2, 64) + 0.01 * torch.randn(256, 64)
    h = [{**{k: float(v) for k, v in d.embedding_health(z, z + 0.01 * torch.randn(256, 64)).items()}}] * 5
    assert d.collapse_kind(h, dim=64) == "dimensional"
