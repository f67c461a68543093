import dataclasses

import pytest
import torch

from sslviz import data, losses, methods
from sslviz.methods.base import TwoViewConfig
from sslviz.methods.simclr import SimCLR, SimCLRConfig
from sslviz.setting import Range, valid_range
from sslviz.train import take


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
    with pytest.raises(ValueError, match=r"Augmentations \(augment\) must be one of .*'none', got 'bogus'"):
        SimCLRConfig(augment="bogus")
    assert dataclasses.asdict(SimCLRConfig())["width"] == 16


def _beyond(rng: Range, default):
    """Values just outside ``rng`` (and of the wrong type) for a field whose default is ``default``."""
    if isinstance(default, bool):
        return [1, "yes", None]
    if rng.choices:
        return ["not-a-choice", 3, None]
    step = 1 if isinstance(default, int) else 1e-3
    wrong_type = [2.5] if isinstance(default, int) else [float("nan"), float("inf")]
    return [rng.low - step, rng.high + step, 10**9, "7", None, *wrong_type]


@pytest.mark.parametrize("name", sorted(methods.REGISTRY))
def test_every_config_field_has_a_range_and_creating_outside_it_fails_before_any_tensor(name, monkeypatch):
    s = methods.spec(name)
    dataset = next(d for d in data.REGISTRY if s.supports(d))
    fields = dataclasses.fields(s.config_cls)
    assert fields and all(valid_range(f) is not None for f in fields), f"{name}: every field declares its range"
    built = []
    monkeypatch.setattr(s.cls, "__init__", lambda self, *a, **k: built.append(a))  # a model built = tensors allocated
    for f in fields:
        for value in _beyond(valid_range(f), f.default):
            with pytest.raises(ValueError, match=rf"\({f.name}\) must be|^{f.name} must be") as err:
                methods.create(name, dataset, **{f.name: value})
            assert "got" in str(err.value)
    assert built == [], "the range check runs before the method allocates anything"
    assert methods.create(name, dataset) is not None and len(built) == 1  # within range it is built


def test_a_method_whose_config_has_an_unranged_field_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Loose(TwoViewConfig):
        size: int = 10**6

    with pytest.raises(ValueError, match="size declare no valid range"):
        methods.MethodSpec("loose", "Loose", "contrastive", methods.REGISTRY["simclr"].cls, Loose, "no range")


TWO_VIEW = sorted(n for n, s in methods.REGISTRY.items() if s.mechanism)  # every joint-embedding method with an anti-collapse mechanism


@pytest.mark.parametrize("name", sorted(methods.REGISTRY))
def test_every_method_trains_embeds_and_snapshots(name):
    m = methods.create(name, "shapes", width=8)
    inputs = m.inputs(data.load("shapes", "test"))  # images, or the method's paired modalities
    out = m.training_step(take(inputs, slice(0, 32)), torch.Generator().manual_seed(0))
    assert out["loss"].requires_grad and torch.isfinite(out["loss"])
    out["loss"].backward()
    m.after_step()
    assert m.embed(torch.rand(3, 3, 32, 32)).shape == (3, m.encoder.out_dim)
    assert m.snapshot(take(inputs, slice(0, 2)))


@pytest.mark.parametrize("name", TWO_VIEW)
def test_every_two_view_method_logs_health(name):
    m = methods.create(name, "shapes", width=4)
    out = m.training_step(torch.rand(16, 3, 32, 32), torch.Generator().manual_seed(0))
    assert {"loss", "alignment", "uniformity", "embedding_std", "effective_rank"} <= set(out)
    out["loss"].backward()
    m.after_step()
    assert m.embed(torch.rand(3, 3, 32, 32)).shape == (3, 16)
    assert m.snapshot(torch.rand(2, 3, 32, 32))["z"].shape[0] == 4


def test_moco_queue_holds_last_k_keys_in_order():
    m = methods.create("moco", "digits", width=4, queue_size=5, proj_dim=3)
    keys = [torch.nn.functional.normalize(torch.randn(2, 3), dim=1) for _ in range(4)]
    for i, k in enumerate(keys):
        m.enqueue(k, torch.tensor([i, i]))
    assert torch.equal(m.queue, torch.cat(keys)[-5:])
    assert m.queue_ids.tolist() == [1, 2, 2, 3, 3]


def test_moco_never_meets_a_key_of_the_querys_own_image_among_its_negatives():
    # 40 images and a 4096-key queue: the queue outlasts an epoch, so from the second epoch on each
    # query's queue holds 2 earlier keys of its own image per epoch (one per view). Those are left out.
    from sslviz.methods.moco import image_ids
    from sslviz.train import TrainConfig, Trainer

    torch.manual_seed(0)
    images = torch.rand(40, 1, 28, 28)
    m = methods.create("moco", "digits", width=4, queue_size=4096)
    left_out = []
    Trainer(m, images, TrainConfig(max_steps=12, max_seconds=None, batch_size=10), [lambda t, row: left_out.append(row["own_keys_left_out"])]).fit()
    assert left_out == [0.0] * 4 + [2.0] * 4 + [4.0] * 4  # epochs of 4 steps
    assert len(set(image_ids(images).tolist())) == 40 and torch.equal(image_ids(images), image_ids(images.clone()))
    # the loss really drops them: a negative identical to the positive, excluded, changes nothing
    q, k = torch.randn(3, 8), torch.randn(3, 8)
    queue = torch.cat([k, torch.randn(5, 8)])
    exclude = torch.zeros(3, 8, dtype=torch.bool)
    exclude[:, :3] = True
    assert losses.moco_infonce(q, k, queue, 0.2, exclude=exclude).item() == pytest.approx(
        losses.moco_infonce(q, k, queue[3:], 0.2).item(), abs=1e-6)


def test_moco_training_step_enqueues_this_steps_keys():
    m = methods.create("moco", "digits", width=4, queue_size=64)
    batch = torch.rand(8, 1, 28, 28)
    m.training_step(batch, torch.Generator().manual_seed(3))
    from sslviz import augment

    x1, x2 = augment.two_views(batch, m.augment, torch.Generator().manual_seed(3))
    k1, k2 = m.keys(torch.cat([x1, x2])).chunk(2)
    assert m.queue.shape == (64, m.config.proj_dim)
    assert torch.allclose(m.queue[-16:], torch.cat([k2, k1]), atol=1e-5)


@pytest.mark.parametrize("name, pairs", [("moco", [("key_encoder", "encoder"), ("key_head", "head")]),
                                          ("byol", [("target_encoder", "encoder"), ("target_head", "head")]),
                                          ("dino", [("teacher_encoder", "encoder"), ("teacher_head", "head")])])
def test_momentum_network_changes_only_by_ema(name, pairs):
    from sslviz.train import TrainConfig, Trainer

    m = methods.create(name, "digits", width=4, momentum=0.8)
    images = torch.rand(32, 1, 28, 28)
    trainer = Trainer(m, images, TrainConfig(max_steps=1, max_seconds=None, batch_size=16, lr=0.05))
    before = {t: [p.clone() for p in getattr(m, t).parameters()] for t, _ in pairs}
    trainer.fit()
    for target, online in pairs:
        assert all(not p.requires_grad for p in getattr(m, target).parameters())
        for old, new, o in zip(before[target], getattr(m, target).parameters(), getattr(m, online).parameters()):
            assert torch.allclose(new, 0.8 * old + 0.2 * o, atol=1e-6)
    trained = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    assert not trained & {id(p) for t, _ in pairs for p in getattr(m, t).parameters()}


def test_simsiam_stop_gradient_blocks_the_target_branch():
    torch.manual_seed(0)
    batch = torch.rand(8, 1, 28, 28)

    def grads(stop):
        torch.manual_seed(1)
        m = methods.create("simsiam", "digits", width=4, stop_gradient=stop)
        m.training_step(batch, torch.Generator().manual_seed(0))["loss"].backward()
        return torch.cat([p.grad.flatten() for p in m.encoder.parameters()])

    assert not torch.allclose(grads(True), grads(False))


def test_simsiam_predictor_width_default_and_the_papers_bottleneck():
    # The default is as wide as the projection (chosen on the validation split); 0 gives the paper's 1/4 bottleneck (2048→512→2048).
    m = methods.create("simsiam", "digits", width=4)
    assert m.predictor.net[0].out_features == m.config.proj_dim == m.predictor.net[-1].out_features
    paper = methods.create("simsiam", "digits", width=4, predictor_hidden=0)
    assert paper.predictor.net[0].out_features == paper.config.proj_dim // 4 < paper.predictor.net[-1].out_features
    # The page offers the paper's bottleneck as a choice: its smallest width is a quarter of the default projection.
    offered = methods.spec("simsiam").settings()["predictor_hidden"].options
    bottleneck = methods.create("simsiam", "digits", width=4, predictor_hidden=min(offered))
    assert bottleneck.predictor.net[0].out_features == bottleneck.config.proj_dim // 4 < bottleneck.predictor.net[-1].out_features
    with pytest.raises(ValueError, match="predictor_hidden"):
        methods.create("simsiam", "digits", predictor_hidden=-1)


def test_unknown_override_is_a_clear_error():
    with pytest.raises(ValueError, match="simclr"):
        methods.create("simclr", "digits", queue_size=3)


@pytest.mark.parametrize("name, bad, match", [("moco", {"momentum": 1.5}, "momentum"), ("moco", {"queue_size": 0}, "queue_size"),
                                              ("moco", {"temperature": -1.0}, "temperature"), ("byol", {"momentum": -0.1}, "momentum")])
def test_shared_settings_are_validated(name, bad, match):
    with pytest.raises(ValueError, match=match):
        methods.create(name, "digits", **bad)
