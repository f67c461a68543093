"""sslviz.optim computes torch.optim's AdamW and SGD updates, without importing torch._dynamo."""

import subprocess
import sys

import pytest
import torch

from sslviz import optim


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5))


def _groups(model: torch.nn.Module, two_groups: bool, **encoder_settings):
    if not two_groups:
        return model.parameters()
    return [{"params": model[:2].parameters(), **encoder_settings}, {"params": model[3].parameters()}]


def _run(make_optimizer, steps: int = 12, drop_at: int | None = None, seed: int = 0) -> list[torch.Tensor]:
    """Train a small model on random data; at step ``drop_at`` the last layer's optimiser state is dropped (as the Trainer does for a re-initialised layer)."""
    model = _model(seed)
    opt = make_optimizer(model)
    g = torch.Generator().manual_seed(seed)
    for step in range(steps):
        x, y = torch.randn(8, 3, 8, 8, generator=g), torch.randint(5, (8,), generator=g)
        if step == drop_at:
            for p in model[3].parameters():
                opt.state.pop(p, None)
        if step == 3:  # a parameter without a gradient this step is left alone
            model[0].bias.requires_grad_(False)
        if step == 6:
            model[0].bias.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.param_groups[-1]["lr"] *= 0.9  # a schedule changes the rate between steps
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


ADAMW = [  # (settings, two groups, the first group's own lr)
    ({"lr": 2e-3, "weight_decay": 1e-6}, False, None),  # SimCLR's defaults
    ({"lr": 1e-2, "weight_decay": 0.0, "betas": (0.8, 0.99), "eps": 1e-6}, False, None),
    ({"lr": 1e-3, "weight_decay": 0.05}, True, 1e-4),  # fine-tuning: the encoder at a lower rate
]


@pytest.mark.parametrize("settings,two_groups,encoder_lr", ADAMW)
@pytest.mark.parametrize("drop_at", [None, 5])
def test_adamw_matches_torch(settings, two_groups, encoder_lr, drop_at):
    extra = {"lr": encoder_lr} if encoder_lr else {}
    ours = _run(lambda m: optim.AdamW(_groups(m, two_groups, **extra), **settings), drop_at=drop_at)
    theirs = _run(lambda m: torch.optim.AdamW(_groups(m, two_groups, **extra), foreach=False, **settings), drop_at=drop_at)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert not torch.equal(ours[0], _model()[0].weight.detach())  # it trained


@pytest.mark.parametrize("settings", [{"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4}, {"lr": 0.1}, {"lr": 0.05, "momentum": 0.5}])
@pytest.mark.parametrize("drop_at", [None, 5])
def test_sgd_matches_torch(settings, drop_at):
    ours = _run(lambda m: optim.SGD(m.parameters(), **settings), drop_at=drop_at)
    theirs = _run(lambda m: torch.optim.SGD(m.parameters(), foreach=False, **settings), drop_at=drop_at)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_zero_grad_keeps_or_drops_the_tensors():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("make,message", [
    (lambda ps: optim.AdamW(ps, lr=-1.0), "lr must be in"),
    (lambda ps: optim.AdamW(ps, betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\)"),
    (lambda ps: optim.AdamW(ps, eps=-1e-8), "eps must be in"),
    (lambda ps: optim.AdamW(ps, weight_decay=-0.1), "weight_decay must be in"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=1.0), "momentum must be in"),
    (lambda ps: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda ps: optim.SGD([{"params": ps}, {"params": ps}], lr=0.1), "more than one group"),
    (lambda ps: optim.SGD([ps[0] * 2], lr=0.1), "leaf tensors"),
])
def test_bad_settings_are_refused(make, message):
    params = list(_model().parameters())
    with pytest.raises(ValueError, match=message):
        make(params)


def test_training_does_not_import_dynamo():
    """The reason this module exists: a live run's first step must not wait for torch._dynamo's import (~1 s)."""
    code = ("import sys, torch\n"
            "from sslviz import data, methods\n"
            "from sslviz.train import TrainConfig, Trainer\n"
            "images = data.load('shapes', 'train', 0).images[:64]\n"
            "for name, optimizer in (('simclr', 'adamw'), ('simclr', 'sgd')):\n"
            "    Trainer(methods.create(name, 'shapes'), images, TrainConfig(max_steps=2, batch_size=16, optimizer=optimizer)).fit()\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr[-2000:]

