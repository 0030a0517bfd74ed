"""A two-component mixture whose component is chosen by a known mask."""
from __future__ import annotations

import torch
from torch.distributions import constraints

from .forcible_has_rsample import ForcibleHasRsample
from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["MaskedConstraint", "MaskedMixture"]


class MaskedConstraint(constraints.Constraint):
    """Two constraints interleaved elementwise by a mask: ``constraint1`` holds where
    ``mask`` is True, ``constraint0`` where it is False.

    :param torch.Tensor mask: a bool tensor.
    :param constraint0: the constraint where ``mask == 0``.
    :param constraint1: the constraint where ``mask == 1``.
    """

    def __init__(self, mask: torch.Tensor, constraint0, constraint1) -> None:
        self.mask = mask
        self.constraint0 = constraint0
        self.constraint1 = constraint1
        super().__init__()

    # torch's Constraint declares class attributes; here they follow the two constraints
    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.constraint0.is_discrete or self.constraint1.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(self.constraint0.event_dim, self.constraint1.event_dim)

    def check(self, value):
        ok0 = self.constraint0.check(value)
        ok1 = self.constraint1.check(value)
        return torch.where(self.mask, ok1, ok0)


class MaskedMixture(ForcibleHasRsample, TorchDistribution):
    """``component1`` where ``mask`` is True, ``component0`` where it is False.

    Unlike a mixture with latent assignments, the assignment is observed: no
    marginalization. Both components must have the same event shape.

    :param torch.BoolTensor mask: shape broadcastable with both batch shapes.
    :param component0: the distribution used where ``mask`` is False.
    :param component1: the distribution used where ``mask`` is True.
    :raises ValueError: on a non-bool mask, mismatched event shapes, or unbroadcastable
        batch shapes.
    """

    arg_constraints: dict = {}

    def __init__(self, mask: torch.Tensor, component0, component1, validate_args=None) -> None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise ValueError("MaskedMixture: mask must be a bool tensor")
        if component0.event_shape != component1.event_shape:
            raise ValueError(
                f"MaskedMixture: components have different event shapes "
                f"{tuple(component0.event_shape)} and {tuple(component1.event_shape)}"
            )
        batch_shape = broadcast_shape(mask.shape, component0.batch_shape,
                                      component1.batch_shape)
        self.mixture_mask = mask.expand(batch_shape)
        self.component0 = component0.expand(batch_shape)
        self.component1 = component1.expand(batch_shape)
        super().__init__(batch_shape, component0.event_shape, validate_args=validate_args)

    @constraints.dependent_property
    def support(self):
        """The support of ``component1`` where the mask is True, of ``component0`` where
        it is False (one constraint when both components share it)."""
        if self.component0.support is self.component1.support:
            return self.component0.support
        return MaskedConstraint(self.mixture_mask, self.component0.support,
                                self.component1.support)

    def _unforced_has_rsample(self) -> bool:
        return self.component0.has_rsample and self.component1.has_rsample

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return MaskedMixture(self.mixture_mask.expand(batch_shape),
                             self.component0.expand(batch_shape),
                             self.component1.expand(batch_shape))

    def _event_mask(self):
        mask = self.mixture_mask
        return mask.reshape(mask.shape + (1,) * len(self.event_shape))

    def sample(self, sample_shape=torch.Size()):
        x0 = self.component0.sample(sample_shape)
        x1 = self.component1.sample(sample_shape)
        return torch.where(self._event_mask(), x1, x0)

    def rsample(self, sample_shape=torch.Size()):
        x0 = self.component0.rsample(sample_shape)
        x1 = self.component1.rsample(sample_shape)
        return torch.where(self._event_mask(), x1, x0)

    def log_prob(self, value):
        lp0 = self.component0.log_prob(value)
        lp1 = self.component1.log_prob(value)
        return torch.where(self.mixture_mask, lp1, lp0)

    @property
    def mean(self):
        return torch.where(self._event_mask(), self.component1.mean, self.component0.mean)

    @property
    def variance(self):
        return torch.where(self._event_mask(), self.component1.variance,
                           self.component0.variance)
