"""Attributions through a differentiable model: integrated gradients (torch, imported lazily)."""
from __future__ import annotations

from typing import Callable


def integrated_gradients(fn: Callable, inputs, baseline=None, *, steps: int = 64):
    """Integrated gradients of a scalar function of a tensor (Sundararajan, Taly & Yan 2017, ICML).

        IG_i(x) = (x_i - x'_i) * integral_0^1 d fn(x' + a (x - x')) / d x_i da

    approximated by the midpoint rule with ``steps`` points. The attributions add up to
    ``fn(x) - fn(x')`` (completeness) up to the quadrature error, and are exactly zero for inputs the
    function does not depend on.

    Parameters
    ----------
    fn : callable
        Tensor of the shape of ``inputs`` -> scalar tensor.
    inputs : torch.Tensor
    baseline : torch.Tensor, optional
        Reference input ``x'``; default zeros.
    steps : int

    Returns
    -------
    torch.Tensor
        Attributions, the shape of ``inputs``.
    """
    import torch

    inputs = inputs.detach()
    baseline = torch.zeros_like(inputs) if baseline is None else baseline.detach()
    total = torch.zeros_like(inputs)
    for a in (torch.arange(steps, dtype=inputs.dtype) + 0.5) / steps:
        point = (baseline + a * (inputs - baseline)).requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(point), point)
        total += grad
    return (inputs - baseline) * total / steps
