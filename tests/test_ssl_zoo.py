"""Barlow Twins, VICReg, DINO and SwAV as methods: what each logs, keeps and shows besides its loss."""

import pytest
import torch

from sslviz import data, methods
from sslviz.methods.dino import attention_on_object
from sslviz.train import TrainConfig, Trainer


def step(name: str, batch: torch.Tensor, **overrides):
    m = methods.create(name, "digits" if batch.shape[1] == 1 else "shapes", width=4, **overrides)
    out = m.training_step(batch, torch.Generator().manual_seed(0))
    return m, out


def test_barlow_twins_logs_its_matrix_and_the_snapshot_carries_it():
    m, out = step("barlow_twins", torch.rand(32, 1, 28, 28))
    assert {"on_diagonal", "off_diagonal"} <= set(out)
    snap = m.snapshot(torch.rand(4, 1, 28, 28))
    c = snap["cross_correlation"]
    assert c.shape == (64, 64) and out["on_diagonal"].item() == pytest.approx(c.diagonal().mean().item(), abs=1e-6)


def test_vicreg_loss_is_its_weighted_terms():
    m, out = step("vicreg", torch.rand(32, 1, 28, 28), invariance_weight=5.0, variance_weight=10.0, covariance_weight=0.1)
    assert out["loss"].item() == pytest.approx(5 * out["invariance"].item() + 10 * out["variance"].item() + 0.1 * out["covariance"].item(), rel=1e-5)


def test_dino_center_follows_the_teacher_only_with_centering():
    torch.manual_seed(0)
    m, out = step("dino", torch.rand(16, 1, 28, 28))
    assert m.center.abs().sum() > 0 and {"teacher_entropy", "kl"} <= set(out)
    assert 0 <= out["teacher_entropy"].item() <= torch.log(torch.tensor(64.0)).item() + 1e-5 and out["kl"].item() >= -1e-5
    off, _ = step("dino", torch.rand(16, 1, 28, 28), centering=False)
    assert off.center.abs().sum() == 0


def test_dino_vit_attention_maps_and_the_object_share():
    m = methods.create("dino", "shapes", backbone="vit", width=8)
    test = data.load("shapes", "test")
    maps = m.class_attention(test.images[:6])
    assert maps.shape == (6, 4, 8, 8) and torch.all(maps.sum(dim=(2, 3)) <= 1 + 1e-5)  # the rest goes to the [CLS] token itself
    masks = data.object_masks(test)[:6]
    uniform = torch.ones(6, 4, 8, 8)
    assert attention_on_object(uniform, masks) == pytest.approx(float(masks.mean()), abs=1e-5)  # a blind map scores the area share
    on_object = torch.nn.functional.adaptive_avg_pool2d(masks.unsqueeze(1), 8).expand(-1, 4, -1, -1)
    assert attention_on_object(on_object, masks) > 2 * attention_on_object(uniform, masks)
    report = m.report(test)
    assert report["attention"].shape == (16, 4, 8, 8) and 0 < report["attention_on_object"] < 1
    with pytest.raises(ValueError, match="ViT backbone"):
        methods.create("dino", "shapes").class_attention(test.images[:2])


def test_swav_prototypes_stay_fixed_for_the_first_steps_then_learn():
    m = methods.create("swav", "digits", width=4, freeze_prototypes_steps=2)
    images = torch.rand(64, 1, 28, 28)
    before = m.prototypes.weight.detach().clone()
    Trainer(m, images, TrainConfig(max_steps=2, max_seconds=None, batch_size=32)).fit()
    assert torch.equal(m.prototypes.weight, before)
    Trainer(m, images, TrainConfig(max_steps=2, max_seconds=None, batch_size=32)).fit()
    assert not torch.equal(m.prototypes.weight, before)


def test_swav_report_assigns_test_images_to_prototypes():
    m = methods.create("swav", "shapes", width=4, prototypes=8)
    test = data.load("shapes", "test")
    report = m.eval().report(test)
    assert report["prototype_assignments"].shape == (500,) and report["prototype_assignments"].max() < 8
    assert report["gallery_images"].shape[0] == 500


def test_swav_step_counts_prototypes_in_use():
    _, out = step("swav", torch.rand(32, 1, 28, 28), prototypes=16)
    assert 1 <= out["prototypes_used"].item() <= 16
    assert 0 <= out["assignment_entropy"].item() <= torch.log(torch.tensor(16.0)).item() + 1e-5


@pytest.mark.parametrize("name, bad, match", [
    ("barlow_twins", {"lambd": -1.0}, "lambd"),
    ("vicreg", {"variance_weight": -1.0}, "variance_weight"),
    ("dino", {"backbone": "resnet"}, "backbone"),
    ("dino", {"teacher_temperature": 0.0}, "temperature"),
    ("swav", {"prototypes": 1}, "prototypes"),
])
def test_new_configs_refuse_bad_values_clearly(name, bad, match):
    with pytest.raises(ValueError, match=match):
        methods.default_config(name, "shapes", **bad)


def test_every_mechanism_has_a_break_it_that_its_page_offers():
    for mechanism, names in methods.by_mechanism().items():
        assert any(methods.spec(n).breaks for n in names), mechanism
        for n in names:
            for label, (overrides, expect) in methods.spec(n).breaks.items():
                methods.default_config(n, "shapes", **overrides)  # a valid configuration
                assert expect and label

