"""The improper flat density on a constrained set."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.distributions import constraints

from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["ImproperUniform"]


class ImproperUniform(TorchDistribution):
    r"""Improper flat "density" on ``support``: ``log_prob`` is 0 everywhere in it.

    Used as a prior that adds nothing to the log joint (for example a latent site whose
    density a ``pyro.factor`` supplies, or one that a reparameterizer or guide replaces).
    No normalized distribution exists, so, as in Pyro, :meth:`sample` raises
    ``NotImplementedError``: give such a site a value (``poutine.condition``,
    ``init_to_value``, a guide).

    :param support: a constraint with a ``transform_to`` registration.
    :param batch_shape: the batch shape.
    :param event_shape: the event shape (at least ``support.event_dim`` dimensions).
    :raises ValueError: if ``event_shape`` has fewer dimensions than ``support.event_dim``.
    """

    arg_constraints: dict = {}

    def __init__(self, support: constraints.Constraint, batch_shape: Sequence[int],
                 event_shape: Sequence[int], validate_args=None) -> None:
        batch_shape = torch.Size(batch_shape)
        event_shape = torch.Size(event_shape)
        if len(event_shape) < support.event_dim:
            raise ValueError(
                f"ImproperUniform: event_shape {tuple(event_shape)} has fewer dimensions than "
                f"the support {support} needs ({support.event_dim})"
            )
        self._support = support
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @constraints.dependent_property
    def support(self):
        return constraints.independent(
            self._support, len(self.event_shape) - self._support.event_dim
        )

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return ImproperUniform(self._support, batch_shape, self.event_shape,
                               validate_args=self._validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        shape = broadcast_shape(value.shape[: value.dim() - len(self.event_shape)],
                                self.batch_shape)
        dtype = value.dtype if value.is_floating_point() else torch.get_default_dtype()
        return torch.zeros((), dtype=dtype, device=value.device).expand(shape)

    def sample(self, sample_shape=torch.Size()):
        """:raises NotImplementedError: always (an improper density has no draws)."""
        raise NotImplementedError("ImproperUniform does not support sampling")
