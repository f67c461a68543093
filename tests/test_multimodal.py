"""Multi-modal SSL: the paired data, CLIP's loss against its formula, the five methods and their scores."""

import math

import numpy as np
import pytest
import torch

from sslviz import data, losses, methods
from sslviz.__main__ import main as cli
from sslviz.methods import paired_scores
from sslviz.nets import eval_mode
from sslviz.train import TrainConfig, Trainer, check_inputs, take


@pytest.fixture(scope="module")
def shapes():
    return data.load("shapes", "train", 0)


@pytest.fixture(scope="module")
def shapes_test():
    return data.load("shapes", "test", 0)


# --- the symmetric CLIP loss ------------------------------------------------------------------


def clip_loss_reference(u: torch.Tensor, v: torch.Tensor, s: float) -> float:
    """The formula in the docstring, one term at a time, with plain Python floats."""
    u = [row / row.norm() for row in u]
    v = [row / row.norm() for row in v]
    n, total = len(u), 0.0
    for i in range(n):
        positive = math.exp(s * float(u[i] @ v[i]))
        image_to_text = sum(math.exp(s * float(u[i] @ v[j])) for j in range(n))
        text_to_image = sum(math.exp(s * float(u[j] @ v[i])) for j in range(n))
        total += -math.log(positive / image_to_text) - math.log(positive / text_to_image)
    return total / (2 * n)


@pytest.mark.parametrize("n,d", [(2, 3), (7, 8), (16, 4)])
@pytest.mark.parametrize("scale", [1.0, 1 / 0.07, 50.0])
def test_clip_loss_equals_its_formula(n, d, scale):
    g = torch.Generator().manual_seed(n * d)
    u, v = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
    assert losses.clip_loss(u, v, scale).item() == pytest.approx(clip_loss_reference(u, v, scale), rel=1e-9)


def test_clip_loss_is_symmetric_scale_invariant_in_length_and_learns_its_temperature():
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    assert losses.clip_loss(u, v, 10.0).item() == pytest.approx(losses.clip_loss(v, u, 10.0).item(), rel=1e-6)
    assert losses.clip_loss(3 * u, v, 10.0).item() == pytest.approx(losses.clip_loss(u, v, 10.0).item(), rel=1e-6)
    aligned = losses.clip_loss(u, u, 10.0)
    assert aligned < losses.clip_loss(u, v, 10.0)  # matching pairs give the lower loss
    log_scale = torch.tensor(2.0, requires_grad=True)
    losses.clip_loss(u, u, log_scale.exp()).backward()
    assert log_scale.grad is not None and log_scale.grad < 0  # aligned pairs: a sharper softmax lowers the loss


def test_clip_loss_rejects_mismatched_pairs():
    with pytest.raises(ValueError, match="same shape"):
        losses.clip_loss(torch.randn(4, 3), torch.randn(5, 3), 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        losses.clip_loss(torch.randn(1, 3), torch.randn(1, 3), 1.0)


# --- the paired data --------------------------------------------------------------------------


def test_captions_name_only_the_image_s_own_attributes_in_varied_phrasings(shapes):
    pairs = data.pairs(shapes, "text")
    assert pairs["captions"].shape == (len(shapes), data.CAPTION_VARIANTS, data.CAPTION_LENGTH)
    phrasings = set()
    for i in range(200):
        for k in range(data.CAPTION_VARIANTS):
            words = data.detokenize(pairs["captions"][i, k]).split()
            phrasings.add(" ".join(w for w in words if w not in set(data.COLOURS) | set(data.SHAPE_NAMES)))
            assert set(words) & set(data.COLOURS) <= {shapes.attributes["colour"][i]}
            assert set(words) & set(data.SHAPE_NAMES) <= {shapes.attributes["shape"][i]}
            assert set(words) & set(data.COLOURS) or set(words) & set(data.SHAPE_NAMES)  # every phrasing names the colour or the shape
        assert data.detokenize(pairs["caption"][i, 1:]) == shapes.captions[i]  # the canonical caption, after <bos>
    assert len(phrasings) > 20


def test_pairs_are_deterministic_per_seed_and_only_for_shapes(shapes):
    again = data.pairs(data.load("shapes", "train", 0), "audio")
    assert torch.equal(again["sound"], data.pairs(shapes, "audio")["sound"])
    assert not torch.equal(data.pairs(data.load("shapes", "train", 1), "depth")["depth"], data.pairs(shapes, "depth")["depth"])
    with pytest.raises(ValueError, match="shapes dataset only"):
        data.pairs(data.load("digits"), "text")
    with pytest.raises(ValueError, match="Unknown modality"):
        data.pairs(shapes, "smell")


def test_clips_start_at_the_image_and_the_shape_moves(shapes):
    clips = data.pairs(shapes, "video")["clips"][:100].float() / 255  # N×T×C×H×W
    assert (clips[:, 0] - shapes.images[:100]).abs().max() <= 1 / 255 + 1e-6  # frame 0 is the image
    moved = (clips[:, -1] - clips[:, 0]).abs().mean(dim=(1, 2, 3))
    assert (moved > 0.005).float().mean() > 0.9
    brightest = clips.amax(dim=(3, 4))  # N×T×C: the shape's colour in every frame
    assert (brightest - brightest[:, :1]).abs().max() < 0.05  # same object, same colour


def test_depth_maps_cover_the_shape_and_nothing_else(shapes):
    depth = data.pairs(shapes, "depth")["depth"][:200]
    shape_pixels = (shapes.images[:200] - 0.08).abs().amax(1, keepdim=True) > 0.1
    assert depth.shape == (200, 1, 32, 32) and depth.min() >= 0 and depth.max() <= 1
    assert ((depth > 0.1) == shape_pixels).float().mean() > 0.97


def test_sound_timbre_follows_the_shape_and_pitch_the_size(shapes):
    sound = data.pairs(shapes, "audio")["sound"][:400]
    spectrum = torch.fft.rfft(sound, dim=1).abs()
    freqs = torch.fft.rfftfreq(data.SOUND_SAMPLES, 1 / data.SOUND_RATE)
    fundamental = freqs[spectrum.argmax(1)].numpy()
    radius = shapes.attributes["radius"][:400]
    assert np.corrcoef(fundamental, radius)[0, 1] < -0.9  # bigger shape, lower pitch
    centroid = ((spectrum * freqs).sum(1) / spectrum.sum(1)).numpy() / fundamental  # brightness relative to the pitch
    by_shape = {name: centroid[shapes.attributes["shape"][:400] == name].mean() for name in data.SHAPE_NAMES}
    assert by_shape["circle"] < by_shape["triangle"] < by_shape["square"] < by_shape["cross"]  # sine < triangle < square < sawtooth
    assert data.pairs(shapes, "audio")["spectrogram"].shape[1:] == (1, 65, 33)


def test_tokenize_names_unknown_words_and_limits():
    assert data.unknown_words("A photo of a RED dog, a dog") == ["photo", "of", "dog"]
    with pytest.raises(ValueError, match="'photo', 'of'"):
        data.tokenize(["a photo of a circle"])
    with pytest.raises(ValueError, match="no words"):
        data.tokenize(["!!"])
    with pytest.raises(ValueError, match="too long"):
        data.tokenize(["a " * 13])
    ids = data.tokenize(["Red triangle, small"])
    assert data.detokenize(ids[0]) == "red triangle small"


def test_held_out_combinations_never_reach_clip_or_virtex_training(shapes, shapes_test):
    held = data.held_out_mask(shapes)
    assert 0.1 < held.mean() < 0.25
    for name in ("clip", "virtex"):
        m = methods.create(name, "shapes", width=4)
        train_inputs = m.inputs(shapes)
        assert len(train_inputs["images"]) == (~held).sum()
        seen = {tuple(c) for c in data.pairs(shapes, "text")["caption"][~held][:, 2:4].tolist()}  # colour and shape word ids of "<bos> a size colour shape"
        for colour, shape in data.HELD_OUT_COMBOS:
            assert (data.WORD_INDEX[colour], data.WORD_INDEX[shape]) not in seen
        assert len(m.inputs(shapes_test)["images"]) == len(shapes_test)  # evaluation sees every combination


# --- the methods ------------------------------------------------------------------------------


def test_multimodal_methods_train_only_where_their_pairs_exist():
    for name in methods.of_family("multi-modal"):
        with pytest.raises(ValueError, match="only the shapes dataset"):
            methods.create(name, "digits")


def test_cli_refuses_a_pairing_on_the_wrong_dataset_with_a_message(capsys):
    assert cli(["bench", "--method", "clip", "--dataset", "digits", "--steps", "1"]) == 2
    assert "only the shapes dataset" in capsys.readouterr().err


def test_trainer_draws_aligned_batches_from_paired_inputs():
    class Checks(methods.Method):
        name = "checks"

        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Linear(1, 1)

        def training_step(self, batch, generator=None):
            assert torch.equal(batch["b"], 2 * batch["a"])  # rows of both tensors belong together
            return {"loss": (self.encoder(batch["a"].float().unsqueeze(1)) ** 2).mean()}

    a = torch.arange(50)
    result = Trainer(Checks(), {"a": a, "b": 2 * a}, TrainConfig(max_steps=12, max_seconds=None, batch_size=8)).fit()
    assert result.steps == 12
    with pytest.raises(ValueError, match="same number"):
        check_inputs({"a": a, "b": a[:10]})


def test_clip_zero_shot_is_a_softmax_over_the_prompts(shapes_test):
    m = methods.create("clip", "shapes", width=4)
    probs = m.zero_shot(shapes_test.images[:5], ["a circle", "something red", "a small square at the top left"])
    assert probs.shape == (5, 3) and torch.allclose(probs.sum(1), torch.ones(5))
    with pytest.raises(ValueError, match="'dog'"):
        m.zero_shot(shapes_test.images[:5], ["a dog"])
    with pytest.raises(ValueError, match="at least one prompt"):
        m.zero_shot(shapes_test.images[:5], [])


def test_clip_learns_colour_zero_shot_in_a_few_steps(shapes, shapes_test):
    torch.manual_seed(0)
    m = methods.create("clip", "shapes", width=8)
    inputs = take(m.inputs(shapes), slice(0, 1024))
    result = Trainer(m, inputs, TrainConfig(max_steps=80, max_seconds=None, batch_size=128, lr=2e-3, seed=0)).fit()
    assert result.history[-1]["loss"] < result.history[0]["loss"] - 0.5
    scores = paired_scores.zero_shot_scores(m, shapes_test)
    assert scores["zero_shot_colour_acc"] > 0.5  # chance: 1/6


def test_virtex_captions_use_the_vocabulary_and_improve(shapes, shapes_test):
    torch.manual_seed(0)
    m = methods.create("virtex", "shapes", width=8)
    result = Trainer(m, take(m.inputs(shapes), slice(0, 1024)), TrainConfig(max_steps=60, max_seconds=None, batch_size=128, lr=2e-3, seed=0)).fit()
    assert result.history[-1]["word_acc"] > result.history[0]["word_acc"] + 0.2
    captions = m.caption(shapes_test.images[:10])
    assert len(captions) == 10 and all(set(c.split()) <= set(data.VOCAB[3:]) for c in captions)
    scores = paired_scores.caption_scores(m, shapes_test, n=100)
    assert 0 <= scores["caption_colour_acc"] <= 1 and all(e["true"] == shapes_test.captions[e["index"]] for e in scores["held_out_examples"])


def test_temporal_positives_are_two_different_frames_of_one_clip(shapes):
    m = methods.create("temporal", "shapes", width=4, augment="none")  # no colour jitter: frames must match exactly
    clips = m.inputs(shapes)["clips"][:16]
    x1, x2 = m.frames(clips, torch.Generator().manual_seed(0))
    frames = clips.float() / 255  # 16×T×C×H×W
    for i in range(16):
        i1 = [t for t in range(data.CLIP_FRAMES) if torch.equal(frames[i, t], x1[i])]
        i2 = [t for t in range(data.CLIP_FRAMES) if torch.equal(frames[i, t], x2[i])]
        assert i1 and i2 and set(i1) != set(i2)


def test_temporal_pairs_never_wrap_from_the_last_frame_to_the_first(shapes):
    # Clips are not periodic: the second frame is 1..max_gap frames *later* in the same clip.
    m = methods.create("temporal", "shapes", width=4, augment="none", max_gap=2)
    clips = m.inputs(shapes)["clips"][:64]
    x1, x2 = m.frames(clips, torch.Generator().manual_seed(1))
    frames = clips.float() / 255
    for i in range(64):
        t1 = min(t for t in range(data.CLIP_FRAMES) if torch.equal(frames[i, t], x1[i]))
        t2 = max(t for t in range(data.CLIP_FRAMES) if torch.equal(frames[i, t], x2[i]))
        assert 1 <= t2 - t1 <= 2, (i, t1, t2)


@pytest.mark.parametrize("name", methods.of_family("multi-modal"))
def test_report_scores_each_pairing_on_held_out_data(name, shapes_test):
    m = methods.create(name, "shapes", width=4)
    with torch.no_grad(), eval_mode(m):
        report = m.report(shapes_test)["multimodal"]
    expected = {"clip": {"zero_shot_shape_acc", "partner_to_image_r1"}, "virtex": {"caption_shape_acc"}, "temporal": {"image_to_partner_r1"},
                "depth": {"image_to_partner_r1"}, "audiovisual": {"partner_to_image_r5"}}[name]
    assert expected <= set(report)
    assert all(0 <= v <= 1 for k, v in report.items() if k.endswith(("_acc", "_r1", "_r5")))


def test_recall_at_k():
    assert paired_scores.recall_at_k(torch.eye(4)) == 1.0
    assert paired_scores.recall_at_k(torch.eye(4).flip(1)) == 0.0  # an even-sized anti-diagonal never hits
    assert paired_scores.recall_at_k(torch.eye(4).flip(1), k=4) == 1.0
    with pytest.raises(ValueError, match="square"):
        paired_scores.recall_at_k(torch.zeros(2, 3))


def test_clip_log_scale_keeps_its_gradient_at_the_cap_and_is_clamped_after_the_step():
    # A clamp inside the forward pass (exp().clamp(max=100)) gives d loss / d log-scale = 0 at the cap.
    from sslviz.methods.crossmodal import MAX_LOGIT_SCALE

    model = methods.create("clip", "shapes", temperature=1 / MAX_LOGIT_SCALE)
    batch = data.take(model.inputs(data.load("shapes", "train", 0)), torch.arange(32))
    model.training_step(batch, torch.Generator().manual_seed(0))["loss"].backward()
    assert model.log_scale.grad is not None and model.log_scale.grad.abs() > 0
    with torch.no_grad():
        model.log_scale.fill_(math.log(MAX_LOGIT_SCALE) + 1)  # as if a step had pushed it past the cap
    model.after_step()
    assert model.scale.item() == pytest.approx(MAX_LOGIT_SCALE)
    with pytest.raises(ValueError, match="1/τ is capped"):
        methods.create("clip", "shapes", temperature=0.001)


def test_unseen_caption_counts_tell_right_from_fallback_captions():
    examples = [{"generated": "a small purple cross at the top", "true": "a large purple cross in the centre"},  # right pair
                {"generated": "a small red cross", "true": "a small purple cross"},  # red cross: a pair training showed
                {"generated": "a green circle", "true": "a purple cross"},  # another held-out pair: neither
                {"generated": "something small", "true": "a purple cross"}]  # no pair at all
    assert paired_scores.unseen_caption_counts(examples) == (1, 1)
