"""The trivial nonnormalized distribution :class:`Unit` (used by ``pyro.factor``)."""
from __future__ import annotations

import torch
from torch.distributions import constraints

from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["Unit"]


class Unit(TorchDistribution):
    """Nonnormalized distribution over the unit type: one value holding no data.

    Its values are empty tensors of shape ``sample_shape + batch_shape + (0,)``; ``log_prob``
    of any value is ``log_factor`` (broadcast to ``sample_shape + batch_shape``). Used by
    ``pyro.factor`` to add an arbitrary term to a model's log density.

    :param log_factor: a number or tensor of shape ``batch_shape``.
    :param has_rsample: whether the factor should count as reparameterized (``True`` when the
        log factor is a differentiable function of reparameterized values); default False.
    """

    arg_constraints = {"log_factor": constraints.real}
    support = constraints.independent(constraints.real, 1)
    has_rsample = False

    def __init__(self, log_factor, *, has_rsample: bool | None = None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(log_factor, torch.Tensor):
            log_factor = torch.as_tensor(log_factor, dtype=torch.get_default_dtype())
        self.log_factor = log_factor
        if has_rsample is not None:
            self.has_rsample = bool(has_rsample)
        super().__init__(log_factor.shape, torch.Size((0,)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(Unit, _instance)
        new.log_factor = self.log_factor.expand(batch_shape)
        if "has_rsample" in self.__dict__:
            new.has_rsample = self.has_rsample
        super(Unit, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=torch.Size()):
        return self.log_factor.new_empty(torch.Size(sample_shape) + self.batch_shape + (0,))

    def rsample(self, sample_shape=torch.Size()):
        return self.sample(sample_shape)

    def log_prob(self, value):
        shape = broadcast_shape(self.batch_shape, value.shape[:-1])
        return self.log_factor.expand(shape)
