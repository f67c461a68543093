"""AdamW and SGD with momentum: the two optimisers sslviz trains with, in a few tensor ops each.

Why not ``torch.optim``: its optimisers import ``torch._dynamo`` the first time one is built (~1 s of
CPU on two cores, most of it holding the GIL), and a cold server's first live run waited for that import
after Train was pressed. These compute the same updates, in the same order of operations, as
``torch.optim.AdamW`` (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019) and
``torch.optim.SGD`` with momentum; ``tests/test_optim.py`` checks them step by step against torch's.

The interface is the part of torch's that sslviz uses: ``param_groups`` (a list of dicts whose ``"lr"``
a schedule may change), ``state`` (per parameter; popping a parameter's entry restarts its statistics,
as for a re-initialised classifier), ``zero_grad`` and ``step``. Updates use ``torch._foreach_*`` ops,
one call per operation over all of a group's parameters rather than a Python loop of small ops.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

Params = Iterable[torch.Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Parameter groups and per-parameter state; subclasses implement the update rule (``_update``)."""

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        groups = list(params)
        if not groups:
            raise ValueError("the optimiser got an empty parameter list.")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[torch.Tensor, dict[str, Any]] = {}
        seen: set[int] = set()
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"])}
            for p in group["params"]:
                if not isinstance(p, torch.Tensor) or not p.is_leaf:
                    raise ValueError("the optimiser can only update leaf tensors (a model's parameters).")
                if id(p) in seen:
                    raise ValueError("a parameter appears in more than one group.")
                seen.add(id(p))
            self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``None``, so the next backward pass writes them instead of adding to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._update(group, params, [p.grad for p in params])

    def _update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        raise NotImplementedError  # the subclass's rule


def _check(name: str, value: float, low: float, high: float = float("inf"), high_open: bool = False) -> None:
    if not (low <= value < high if high_open else low <= value <= high):
        bound = f"[{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {bound}, got {value!r}.")


class AdamW(Optimizer):
    """Adam with decoupled weight decay: ``p ← p·(1 − lr·wd)``, then the bias-corrected Adam step."""

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        _check("lr", lr, 0.0)
        _check("betas[0]", betas[0], 0.0, 1.0, high_open=True)
        _check("betas[1]", betas[1], 0.0, 1.0, high_open=True)
        _check("eps", eps, 0.0)
        _check("weight_decay", weight_decay, 0.0)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def _update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        states = [self.state.setdefault(p, {}) for p in params]
        for p, s in zip(params, states):
            if not s:  # first step, or the state was dropped: fresh moments
                s.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
            s["step"] += 1
        m, v = [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]
        if wd != 0:
            torch._foreach_mul_(params, 1 - lr * wd)
        torch._foreach_lerp_(m, grads, 1 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, 1 - beta2)
        # Bias corrections per parameter: a parameter whose state was dropped counts its steps again from 1.
        step_sizes = [-lr / (1 - beta1 ** s["step"]) for s in states]
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, [(1 - beta2 ** s["step"]) ** 0.5 for s in states])
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(params, m, denom, step_sizes)


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum and L2 weight decay added to the gradient."""

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        _check("lr", lr, 0.0)
        _check("momentum", momentum, 0.0, 1.0, high_open=True)
        _check("weight_decay", weight_decay, 0.0)
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    def _update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd != 0:
            grads = torch._foreach_add(grads, params, alpha=wd)
        if momentum != 0:
            states = [self.state.setdefault(p, {}) for p in params]
            old = [i for i, s in enumerate(states) if "momentum_buffer" in s]
            if old:
                bufs = [states[i]["momentum_buffer"] for i in old]
                torch._foreach_mul_(bufs, momentum)
                torch._foreach_add_(bufs, [grads[i] for i in old])
            for g, s in zip(grads, states):
                s.setdefault("momentum_buffer", g.detach().clone())  # the first step's buffer is the gradient itself
            grads = [s["momentum_buffer"] for s in states]
        torch._foreach_add_(params, grads, alpha=-lr)
