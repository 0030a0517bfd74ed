"""The ordered logistic (proportional odds) distribution."""
from __future__ import annotations

import torch
from torch.distributions import constraints

from . import constraints as pyro_constraints
from .torch import Categorical
from .util import broadcast_shape

__all__ = ["OrderedLogistic"]


class OrderedLogistic(Categorical):
    r"""Categorical distribution over :math:`K + 1` ordered outcomes from a real predictor
    :math:`\eta` and :math:`K` increasing cutpoints :math:`c`:
    :math:`P(y \le k) = \sigma(c_k - \eta)`.

    :param predictor: :math:`\eta`, shape ``batch_shape``.
    :param cutpoints: :math:`c`, shape ``batch_shape + (K,)``, strictly increasing.
    :raises ValueError: if ``cutpoints`` has no last dimension.

    **References**

    [1] McCullagh (1980), *Regression models for ordinal data*, JRSS B 42(2).
    """

    arg_constraints = {
        "predictor": constraints.real,
        "cutpoints": pyro_constraints.ordered_vector,
    }

    def __init__(self, predictor, cutpoints, validate_args=None) -> None:
        if not isinstance(predictor, torch.Tensor):
            predictor = torch.as_tensor(predictor, dtype=cutpoints.dtype, device=cutpoints.device)
        if cutpoints.dim() < 1:
            raise ValueError("OrderedLogistic: cutpoints must have a last dimension of size K")
        batch_shape = broadcast_shape(predictor.shape, cutpoints.shape[:-1])
        self.predictor = predictor.expand(batch_shape)
        self.cutpoints = cutpoints.expand(batch_shape + cutpoints.shape[-1:])
        cdf = torch.sigmoid(self.cutpoints - self.predictor.unsqueeze(-1))
        probs = torch.cat([cdf[..., :1], cdf[..., 1:] - cdf[..., :-1], 1 - cdf[..., -1:]], -1)
        super().__init__(probs=probs.clamp_min(0), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape and _instance is None:
            return self
        new = self._get_checked_instance(OrderedLogistic, _instance)
        new.predictor = self.predictor.expand(batch_shape)
        new.cutpoints = self.cutpoints.expand(batch_shape + self.cutpoints.shape[-1:])
        return super().expand(batch_shape, _instance=new)
