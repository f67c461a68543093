"""DeepCluster: rounds of clustering, fresh classifier, uniform sampling over pseudo-labels."""

import pytest
import torch

from sslviz import methods
from sslviz.methods.deepcluster import DeepClusterConfig
from sslviz.train import TrainConfig, Trainer


def small(**overrides):
    return methods.create("deepcluster", "digits", width=4, k=5, steps_per_round=3, **overrides)


def test_rounds_recluster_every_steps_per_round_and_reset_the_classifier():
    torch.manual_seed(0)
    m = small()
    images = torch.rand(40, 1, 28, 28)
    seen = []
    trainer = Trainer(m, images, TrainConfig(max_steps=7, max_seconds=None, batch_size=8), [lambda t, metrics: seen.append(metrics["round"])])
    trainer.fit()
    assert seen == [1, 1, 1, 2, 2, 2, 3] and len(m.rounds) == 3
    assert all(len(r["labels"]) == 40 and r["sizes"].sum() == 40 for r in m.rounds)
    before = m.classifier.weight.detach().clone()
    m.new_round()
    assert not torch.equal(before, m.classifier.weight)


def test_each_round_gives_the_classifier_a_fresh_optimiser_state():
    # The reference builds a new optimiser for the top layer every epoch: Adam's moments and step
    # count for the old cluster ids must not carry over to the new ones. The CNN keeps its state.
    torch.manual_seed(0)
    m = small()
    steps_seen = []

    def record(trainer, metrics):
        state = trainer.optimizer.state
        steps_seen.append((int(state[m.classifier.weight]["step"]), int(state[next(m.encoder.parameters())]["step"])))

    Trainer(m, torch.rand(40, 1, 28, 28), TrainConfig(max_steps=7, max_seconds=None, batch_size=8), [record]).fit()
    assert [c for c, _ in steps_seen] == [1, 2, 3, 1, 2, 3, 1]  # restarts with each round (every 3 steps)
    assert [e for _, e in steps_seen] == [1, 2, 3, 4, 5, 6, 7]  # the encoder's optimiser state is kept
    assert m.take_reinitialised() == []  # the Trainer took them


def test_uniform_sampling_balances_pseudo_labels():
    m = small(uniform_sampling=True)
    m.begin(torch.rand(100, 1, 28, 28))
    m.pseudo_labels = torch.tensor([0] * 96 + [1, 2, 3, 4])  # one huge cluster
    g = torch.Generator().manual_seed(0)
    drawn = m.pseudo_labels[m.sample(5000, g)]
    shares = torch.bincount(drawn, minlength=5) / 5000
    assert torch.allclose(shares, torch.full((5,), 0.2), atol=0.03)
    m_plain = small(uniform_sampling=False)
    m_plain.begin(torch.rand(100, 1, 28, 28))
    m_plain.pseudo_labels = m.pseudo_labels
    assert (m_plain.pseudo_labels[m_plain.sample(5000, g)] == 0).float().mean() > 0.9


def test_sampled_images_belong_to_the_sampled_cluster_and_empty_clusters_are_never_drawn():
    m = small()
    m.begin(torch.rand(20, 1, 28, 28))
    m.pseudo_labels = torch.tensor([0] * 10 + [2] * 10)  # clusters 1, 3, 4 empty
    idx = m.sample(200, torch.Generator().manual_seed(1))
    assert set(m.pseudo_labels[idx].tolist()) == {0, 2}


def test_sobel_removes_colour():
    m = methods.create("deepcluster", "shapes", width=4, sobel=True)
    red, blue = torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32)
    red[:, 0, 8:20, 8:20] = 0.9
    blue[:, 2, 8:20, 8:20] = 0.9  # same shape, same brightness, other colour
    assert torch.allclose(m.embed(red), m.embed(blue), atol=1e-5)


@pytest.mark.parametrize("bad, match", [({"k": 1}, r"\(k\) must be between 2"), ({"steps_per_round": 0}, "steps_per_round"), ({"augment": "nope"}, "augment")])
def test_config_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        DeepClusterConfig(**bad)
    with pytest.raises(ValueError, match="at least 5 images"):
        small().begin(torch.rand(3, 1, 28, 28))


def test_steps_for_rounds_is_exactly_enough_for_the_lesson_rounds_even_with_a_tiny_seconds_budget():
    from sslviz.methods.deepcluster import LESSON_ROUNDS, steps_for_rounds

    torch.manual_seed(0)
    m = small()
    steps = steps_for_rounds(3)
    assert steps == (LESSON_ROUNDS - 1) * 3 + 1
    r = Trainer(m, torch.rand(40, 1, 28, 28), TrainConfig(max_seconds=1e-6, min_steps=steps, batch_size=8)).fit()
    assert r.steps == steps and len(m.rounds) == LESSON_ROUNDS
    with pytest.raises(ValueError, match="steps_per_round"):
        steps_for_rounds(0)
