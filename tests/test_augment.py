import pytest
import torch

from sslviz import augment
from sslviz.augment import AugmentConfig


@pytest.fixture
def batch():
    return torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_none_preset_is_identity(batch):
    out = augment.augment(batch, augment.preset("none"), torch.Generator().manual_seed(0))
    assert torch.allclose(out, batch, atol=1e-5)


@pytest.mark.parametrize("name", list(augment.PRESETS))
def test_presets_keep_shape_and_range(batch, name):
    out = augment.augment(batch, augment.preset(name), torch.Generator().manual_seed(1))
    assert out.shape == batch.shape and out.min() >= 0 and out.max() <= 1 and torch.isfinite(out).all()


def test_seeded_and_views_differ(batch):
    cfg = augment.preset("crop, flip, colour")
    a1, a2 = augment.two_views(batch, cfg, torch.Generator().manual_seed(7))
    b1, b2 = augment.two_views(batch, cfg, torch.Generator().manual_seed(7))
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.allclose(a1, a2)


def test_flip_always_mirrors(batch):
    cfg = augment.with_changes(augment.NO_AUGMENTATION, flip_p=1.0)
    out = augment.augment(batch, cfg, torch.Generator().manual_seed(0))
    assert torch.allclose(out, batch.flip(-1), atol=1e-5)


def test_greyscale_makes_channels_equal(batch):
    cfg = augment.with_changes(augment.NO_AUGMENTATION, greyscale_p=1.0)
    out = augment.augment(batch, cfg)
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])


def test_solarize_inverts_bright_pixels():
    x = torch.tensor([0.2, 0.7]).view(1, 1, 1, 2)
    assert torch.allclose(augment.random_solarize(x, 1.0), torch.tensor([0.2, 0.3]).view(1, 1, 1, 2))


def test_erasing_zeroes_a_region_of_the_requested_size():
    x = torch.ones(16, 1, 32, 32)
    cfg = augment.with_changes(augment.NO_AUGMENTATION, erase_p=1.0, erase_scale=(0.1, 0.1))
    out = augment.random_erasing(x, cfg, torch.Generator().manual_seed(0))
    erased = (out == 0).float().mean(dim=(1, 2, 3))
    assert ((erased > 0.05) & (erased < 0.16)).all()


def test_blur_preserves_mean_and_smooths():
    x = torch.zeros(2, 1, 15, 15)
    x[:, :, 7, 7] = 1.0
    cfg = augment.with_changes(augment.NO_AUGMENTATION, blur_p=1.0, blur_sigma=(1.0, 1.0))
    out = augment.gaussian_blur(x, cfg)
    assert out[:, :, 7, 7].max() < 0.5 and abs(out.sum().item() - 2.0) < 1e-3


def test_crop_zooms_in():
    # a centre crop of a quarter area of a left-dark/right-bright image still shows both halves
    x = torch.zeros(1, 1, 32, 32)
    x[..., 16:] = 1
    cfg = augment.with_changes(augment.NO_AUGMENTATION, crop_scale=(0.25, 0.25))
    out = augment.augment(x.repeat(32, 1, 1, 1), cfg, torch.Generator().manual_seed(0))
    assert out.shape == (32, 1, 32, 32)
    assert not torch.allclose(out, x.repeat(32, 1, 1, 1))


def test_hue_rotation_changes_colour_not_grey(batch):
    grey = batch.mean(1, keepdim=True).repeat(1, 3, 1, 1)
    turns = torch.full((8,), 0.25)
    assert torch.allclose(augment._rotate_hue(grey, turns), grey, atol=1e-4)
    assert not torch.allclose(augment._rotate_hue(batch, turns), batch, atol=1e-2)


def test_single_channel_images_work():
    x = torch.rand(4, 1, 28, 28)
    out = augment.augment(x, augment.preset("strong"), torch.Generator().manual_seed(0))
    assert out.shape == x.shape


@pytest.mark.parametrize("changes, match", [
    ({"flip_p": 1.5}, "probability"), ({"crop_scale": (0.9, 0.1)}, "low <= high"),
    ({"rotation": float("nan")}, "finite"), ({"crop_scale": (0.0, 1.0)}, "crop_scale"),
])
def test_config_validation(changes, match):
    with pytest.raises(ValueError, match=match):
        AugmentConfig(**changes)


def test_unknown_preset_and_bad_shape():
    with pytest.raises(ValueError, match="Unknown augmentation preset"):
        augment.preset("nope")
    with pytest.raises(ValueError, match="B×C×H×W"):
        augment.augment(torch.rand(3, 32, 32), AugmentConfig())


def test_config_code_round_trips():
    cfg = augment.preset("digits")
    namespace = {"AugmentConfig": AugmentConfig, "NO_AUGMENTATION": augment.NO_AUGMENTATION}
    exec(augment.config_code(cfg), namespace)
    assert namespace["config"] == cfg
    exec(augment.config_code(augment.NO_AUGMENTATION), namespace)
    assert namespace["config"] == augment.NO_AUGMENTATION
    default = augment.config_code(AugmentConfig())  # the default preset shows its settings, not an empty AugmentConfig()
    assert "crop_scale=(0.2, 1.0)," in default and "# default" not in default
    assert "flip_p=0.0,  # default 0.5" in augment.config_code(cfg)


def test_no_preset_claims_simclrs_recipe_without_its_crop_range():
    # SimCLR crops (0.08, 1) of the area; a preset named after SimCLR's defaults must use that range.
    for name, cfg in augment.PRESETS.items():
        if "default" in name.lower() and "simclr" in name.lower():
            assert cfg.crop_scale == (0.08, 1.0), name
    assert augment.preset("crop, flip, colour").crop_scale == (0.2, 1.0)


@pytest.mark.parametrize("height, width", [(32, 32), (28, 28), (8, 20)])
def test_affine_grid_matches_torchs(height, width):
    theta = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.affine_grid(theta, [5, 3, height, width], align_corners=False)
    torch.testing.assert_close(augment.affine_grid(theta, height, width), expected, rtol=0, atol=2e-6)
