"""The bijection from real vectors to ordered vectors."""
from __future__ import annotations

import torch
from torch.distributions.transforms import Transform

from .. import constraints

__all__ = ["OrderedTransform"]


class OrderedTransform(Transform):
    r"""Map a real vector to a strictly increasing one:
    :math:`y_0 = x_0`, :math:`y_i = y_{i-1} + \exp(x_i)`.

    Shapes: ``x`` and ``y`` are ``batch_shape + (n,)``; ``log_abs_det_jacobian`` is
    ``batch_shape`` (:math:`\sum_{i \ge 1} x_i`).
    """

    domain = constraints.real_vector
    codomain = constraints.ordered_vector
    bijective = True
    sign = +1

    def __eq__(self, other) -> bool:
        return isinstance(other, OrderedTransform)

    def __hash__(self) -> int:
        return hash(OrderedTransform)

    def _call(self, x):
        steps = torch.cat([x[..., :1], x[..., 1:].exp()], dim=-1)
        return steps.cumsum(-1)

    def _inverse(self, y):
        return torch.cat([y[..., :1], (y[..., 1:] - y[..., :-1]).log()], dim=-1)

    def log_abs_det_jacobian(self, x, y):
        return x[..., 1:].sum(-1)
