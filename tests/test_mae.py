"""MAE: patches, masks, visible-only encoding, the masked loss, and learning on a tiny budget."""

import pytest
import torch

from sslviz import methods
from sslviz.losses import masked_reconstruction_loss
from sslviz.methods.mae import MAEConfig, masked_count, random_mask
from sslviz.nets import TinyViT, patchify, unpatchify


@pytest.mark.parametrize("c, size, p", [(1, 28, 4), (3, 32, 4), (3, 32, 8), (1, 28, 7)])
def test_patchify_round_trips_exactly(c, size, p):
    x = torch.rand(3, c, size, size)
    patches = patchify(x, p)
    assert patches.shape == (3, (size // p) ** 2, p * p * c)
    assert torch.equal(unpatchify(patches, p, c, size, size), x)


def test_patch_order_is_row_major():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    patches = patchify(x, 2)
    assert patches[0, 1].tolist() == [2.0, 3.0, 6.0, 7.0]  # top-right patch
    assert patches[0, 2].tolist() == [8.0, 9.0, 12.0, 13.0]  # bottom-left patch
    with pytest.raises(ValueError, match="divisible"):
        patchify(torch.rand(1, 1, 10, 10), 4)


@pytest.mark.parametrize("ratio", [0.1, 0.25, 0.5, 0.75, 0.9])
def test_mask_hides_round_r_times_n(ratio):
    keep, hidden = random_mask(5, 49, ratio, torch.Generator().manual_seed(0))
    n_hidden = round(ratio * 49)
    assert (hidden.sum(1) == n_hidden).all() and keep.shape == (5, 49 - n_hidden)
    assert not hidden.gather(1, keep).any()  # the kept patches are exactly the visible ones
    assert (keep.diff(dim=1) > 0).all()  # sorted, no repeats
    assert not torch.equal(hidden[0], hidden[1])  # a different mask per image


def test_encoder_gets_only_visible_tokens():
    m = methods.create("mae", "digits", width=32, depth=1, heads=2, mask_ratio=0.75)
    seen = []
    m.encoder.blocks[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape))
    m.training_step(torch.rand(4, 1, 28, 28), torch.Generator().manual_seed(0))
    assert seen[-1] == (4, 49 - masked_count(49, 0.75), 32)
    m_all = methods.create("mae", "digits", width=32, depth=1, heads=2, encoder_input="all")
    m_all.encoder.blocks[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape))
    m_all.training_step(torch.rand(4, 1, 28, 28), torch.Generator().manual_seed(0))
    assert seen[-1] == (4, 49, 32)


def reference_loss(pred, target, mask, masked_only, norm_pix):
    """Loop over images and patches, as in the paper's description."""
    total, count = 0.0, 0
    for i in range(pred.shape[0]):
        for j in range(pred.shape[1]):
            if masked_only and not mask[i, j]:
                continue
            t = target[i, j]
            if norm_pix:
                t = (t - t.mean()) / (t.var() + 1e-6).sqrt()
            total += ((pred[i, j] - t) ** 2).mean()
            count += 1
    return total / count


@pytest.mark.parametrize("masked_only", [True, False])
@pytest.mark.parametrize("norm_pix", [True, False])
@pytest.mark.parametrize("shape", [(2, 9, 4), (3, 16, 12)])
def test_masked_loss_matches_reference(masked_only, norm_pix, shape):
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randn(*shape, generator=g), torch.rand(*shape, generator=g)
    _, mask = random_mask(shape[0], shape[1], 0.5, g)
    got = masked_reconstruction_loss(pred, target, mask, masked_only, norm_pix)
    assert torch.allclose(got, reference_loss(pred, target, mask, masked_only, norm_pix), atol=1e-5)


def test_masked_loss_ignores_visible_patches():
    pred, target = torch.zeros(2, 8, 4), torch.zeros(2, 8, 4)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, :4] = True
    spoiled = pred.clone()
    spoiled[~mask] = 100.0  # huge errors on visible patches only
    assert masked_reconstruction_loss(spoiled, target, mask, masked_only=True) == 0
    assert masked_reconstruction_loss(spoiled, target, mask, masked_only=False) > 0
    # and the gradient never reaches a visible patch's prediction
    p = torch.randn(2, 8, 4, requires_grad=True)
    masked_reconstruction_loss(p, target, mask).backward()
    assert (p.grad[~mask] == 0).all() and (p.grad[mask] != 0).any()


@pytest.mark.parametrize("bad, match", [({"mask_ratio": 1.0}, "mask_ratio"), ({"mask_ratio": 0.0}, "hides no patch"), ({"patch_size": 5}, "divisible"),
                                        ({"encoder_input": "some"}, "encoder_input"), ({"width": 30}, "multiples of 4")])
def test_config_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        MAEConfig(**bad)
    assert MAEConfig(mask_ratio=0.0, masked_loss_only=False).mask_ratio == 0.0


def test_tiny_vit_features_and_attention():
    vit = TinyViT(3, 32, 8, width=16, depth=2, heads=2)
    assert vit(torch.rand(5, 3, 32, 32)).shape == (5, 16)
    vit.blocks[-1].attn.keep_attention = True
    vit(torch.rand(2, 3, 32, 32))
    att = vit.blocks[-1].attn.attention
    assert att.shape == (2, 2, 16, 16) and torch.allclose(att.sum(-1), torch.ones(2, 2, 16))


def test_snapshot_pastes_visible_patches_back():
    m = methods.create("mae", "shapes", width=16, depth=1, heads=2)
    x = torch.rand(3, 3, 32, 32)
    snap = m.snapshot(x, torch.Generator().manual_seed(0))
    hidden = snap["hidden"].unsqueeze(-1)
    orig, pasted = patchify(x, 4), patchify(snap["pasted"], 4)
    assert torch.equal(pasted.masked_select(~hidden), orig.masked_select(~hidden))
    assert torch.equal(patchify(snap["masked"], 4).masked_select(hidden), torch.full_like(orig, 0.5).masked_select(hidden))


def test_reconstruction_error_falls_with_training():
    from sslviz.train import TrainConfig, Trainer

    torch.manual_seed(0)
    images = torch.zeros(64, 1, 28, 28)
    images[:, :, 8:20, 10:18] = 1.0  # the same bar everywhere: easy to learn to fill in
    m = methods.create("mae", "digits", width=32, depth=1, heads=2, augment="none", norm_pix_loss=False)
    before = m.test_metrics(images)["test_masked_mse"]
    result = Trainer(m, images, TrainConfig(max_steps=60, max_seconds=None, batch_size=32, lr=3e-3)).fit()
    after = m.test_metrics(images)["test_masked_mse"]
    assert after < 0.5 * before, (before, after)
    assert result.history[-1]["masked_mse"] < result.history[0]["masked_mse"]


def test_attention_map_covers_the_patch_grid():
    m = methods.create("mae", "digits", width=32, depth=2, heads=2)
    maps = m.attention(torch.rand(3, 1, 28, 28))
    assert maps.shape == (3, 7, 7) and torch.allclose(maps.sum(dim=(1, 2)), torch.ones(3), atol=1e-5)
    assert m.encoder.blocks[-1].attn.attention is None and not m.encoder.blocks[-1].attn.keep_attention  # switched off again


def test_held_out_error_of_a_blank_norm_pix_prediction_is_no_better_than_the_mean_training_patch():
    # The error must not borrow the hidden patches' own statistics: an all-zero norm-pix prediction
    # (which knows nothing) may not beat predicting the average training image at every hidden patch.
    from sslviz import data

    train, test = data.load("digits", "train", 0).images, data.load("digits", "test", 0).images[:256]
    m = methods.create("mae", "digits")  # norm_pix_loss=True, 75% hidden
    out = m.reconstruct(test, torch.Generator().manual_seed(0))
    blank = m.patch_errors({**out, "pred": torch.zeros_like(out["pred"])})[out["hidden"]].mean()
    mean_patch = patchify(train, m.config.patch_size).mean(dim=0, keepdim=True)  # 1×L×P
    mean_error = ((mean_patch - out["target"]) ** 2).mean(dim=-1)[out["hidden"]].mean()
    assert blank >= mean_error, (float(blank), float(mean_error))
    # With the hidden targets' own mean and std (MAE's figures), the blank prediction looked far better:
    target = out["target"]
    borrowed = ((target.mean(-1, keepdim=True) - target) ** 2).mean(dim=-1)[out["hidden"]].mean()
    assert borrowed < 0.5 * mean_error
    # what a trained model reports is the same pixel-space error (nothing hidden used)
    metrics = m.test_metrics(test)
    assert set(metrics) == {"test_masked_mse", "test_masked_norm_mse"}
