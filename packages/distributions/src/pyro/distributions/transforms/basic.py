"""Elementwise activation bijections (ELU, leaky ReLU) and the helpers that make them and
torch's ``TanhTransform`` (used as invertible activations in flows)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions.transforms import TanhTransform, Transform

from .. import constraints

__all__ = ["ELUTransform", "LeakyReLUTransform", "elu", "leaky_relu", "tanh"]

_LEAKY_SLOPE = 0.01


class ELUTransform(Transform):
    r"""The bijection :math:`y = \mathrm{ELU}(x)` (:math:`x` for :math:`x > 0`,
    :math:`e^x - 1` otherwise) from the reals onto :math:`(-1, \infty)`.

    Elementwise (``event_dim = 0``): ``log_abs_det_jacobian`` has the shape of ``x``,
    :math:`\min(x, 0)`.
    """

    domain = constraints.real
    codomain = constraints.greater_than(-1.0)
    bijective = True
    sign = +1

    def __eq__(self, other) -> bool:
        return isinstance(other, ELUTransform)

    def __hash__(self) -> int:
        return hash(ELUTransform)

    def _call(self, x):
        return F.elu(x)

    def _inverse(self, y):
        # log1p is exact near 0 from below; clamp keeps the unused branch finite
        return torch.where(y > 0, y, torch.log1p(y.clamp(min=-1 + torch.finfo(y.dtype).eps)))

    def log_abs_det_jacobian(self, x, y):
        return x.clamp(max=0.0)


class LeakyReLUTransform(Transform):
    r"""The bijection :math:`y = x` for :math:`x > 0`, :math:`y = 0.01 x` otherwise, on the
    reals.

    Elementwise: ``log_abs_det_jacobian`` has the shape of ``x`` (0 or :math:`\log 0.01`).
    """

    domain = constraints.real
    codomain = constraints.real
    bijective = True
    sign = +1

    def __eq__(self, other) -> bool:
        return isinstance(other, LeakyReLUTransform)

    def __hash__(self) -> int:
        return hash(LeakyReLUTransform)

    def _call(self, x):
        return F.leaky_relu(x, _LEAKY_SLOPE)

    def _inverse(self, y):
        return F.leaky_relu(y, 1.0 / _LEAKY_SLOPE)

    def log_abs_det_jacobian(self, x, y):
        return torch.where(
            x >= 0, torch.zeros_like(x), torch.full_like(x, math.log(_LEAKY_SLOPE))
        )


def elu() -> ELUTransform:
    """An :class:`ELUTransform`."""
    return ELUTransform()


def leaky_relu() -> LeakyReLUTransform:
    """A :class:`LeakyReLUTransform`."""
    return LeakyReLUTransform()


def tanh() -> TanhTransform:
    """A :class:`~torch.distributions.transforms.TanhTransform`."""
    return TanhTransform()
