import dataclasses

import pytest
import torch

from sslviz import methods
from sslviz.methods.simclr import SimCLR, SimCLRConfig


def test_registry_creates_tuned_defaults():
    m = methods.create("simclr", "shapes")
    assert isinstance(m, SimCLR) and m.config.in_channels == 3 and m.config.augment == "SimCLR + rotation"
    assert methods.train_defaults("simclr", "digits")["batch_size"] >= 64
    with pytest.raises(ValueError, match="Unknown method 'nope'"):
        methods.create("nope")


def test_training_step_returns_loss_and_metrics():
    m = methods.create("simclr", "digits", width=8)
    out = m.training_step(torch.rand(16, 1, 28, 28), torch.Generator().manual_seed(0))
    assert set(out) >= {"loss", "positive_sim", "negative_sim", "pair_acc"}
    assert out["loss"].requires_grad and torch.isfinite(out["loss"])


def test_embed_uses_the_encoder_in_eval_mode_and_restores_mode():
    m = methods.create("simclr", "digits", width=8)
    m.train()
    x = torch.rand(10, 1, 28, 28)
    feats = m.embed(x)
    assert feats.shape == (10, 32) and m.encoder.training
    assert torch.allclose(feats, m.embed(x))  # deterministic in eval mode


def test_snapshot_has_views_and_unit_projections():
    m = methods.create("simclr", "shapes", width=8)
    snap = m.snapshot(torch.rand(4, 3, 32, 32), torch.Generator().manual_seed(0))
    assert snap["view1"].shape == (4, 3, 32, 32) and snap["z"].shape == (8, m.config.proj_dim)
    assert torch.allclose(snap["z"].norm(dim=1), torch.ones(8), atol=1e-5)


def test_config_validation():
    with pytest.raises(ValueError, match="temperature"):
        SimCLRConfig(temperature=0)
    with pytest.raises(ValueError, match="preset"):
        SimCLRConfig(augment="bogus")
    assert dataclasses.asdict(SimCLRConfig())["width"] == 16
