"""The point-mass distribution :class:`Delta` (used by ``pyro.deterministic``)."""
from __future__ import annotations

import torch
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from .torch_distribution import TorchDistribution

__all__ = ["Delta"]


class Delta(TorchDistribution):
    r"""Degenerate distribution putting all its mass on ``v``.

    :param torch.Tensor v: the point, of shape ``batch_shape + event_shape``.
    :param log_density: an optional log density (number or tensor broadcastable to
        ``batch_shape``) added to ``log_prob`` at ``v``; useful for densities obtained by a
        change of variables.
    :param int event_dim: how many rightmost dimensions of ``v`` form the event.

    ``log_prob(x)`` has shape ``sample_shape + batch_shape``: ``log_density`` where ``x``
    equals ``v`` on the whole event, ``-inf`` elsewhere.

    :raises ValueError: if ``event_dim`` exceeds ``v.dim()`` or is negative.
    """

    arg_constraints = {"v": constraints.dependent, "log_density": constraints.real}
    has_rsample = True

    def __init__(
        self,
        v,
        log_density: float | torch.Tensor = 0.0,
        event_dim: int = 0,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(v, torch.Tensor):
            v = torch.as_tensor(v, dtype=torch.get_default_dtype())
        if event_dim < 0 or event_dim > v.dim():
            raise ValueError(
                f"Delta: event_dim={event_dim} must be between 0 and v.dim()={v.dim()} "
                f"(v has shape {tuple(v.shape)})"
            )
        batch_dim = v.dim() - event_dim
        batch_shape = v.shape[:batch_dim]
        event_shape = v.shape[batch_dim:]
        self.v = v
        self._dtype = v.dtype if v.is_floating_point() else torch.get_default_dtype()
        self._log_density_number: float | None = None
        if not isinstance(log_density, torch.Tensor):  # a Python or numpy number
            number = float(log_density)
            if number == number:
                # Not NaN, the one value its constraint (real) rejects: validation has no
                # tensor left to check (v's is dependent), and the tensor is made only
                # if read (log_prob adds the number itself).
                self._log_density_number = number
                super().__init__(batch_shape, event_shape, validate_args=False)
                del self._validate_args  # back to the default, or the caller's choice
                if validate_args is not None:
                    self._validate_args = validate_args
                return
            tensor = v.new_full(batch_shape, number, dtype=self._dtype)
        elif log_density.shape != batch_shape:
            try:
                tensor = log_density.expand(batch_shape)
            except RuntimeError:
                raise ValueError(
                    f"Delta: log_density of shape {tuple(log_density.shape)} does not broadcast "
                    f"to batch_shape {tuple(batch_shape)} (v has shape {tuple(v.shape)} and "
                    f"event_dim={event_dim})"
                ) from None
        else:
            tensor = log_density
        self.log_density = tensor
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @lazy_property
    def log_density(self) -> torch.Tensor:
        """The log density at ``v`` (shape ``batch_shape``)."""
        return self.v.new_full(self.batch_shape, self._log_density_number, dtype=self._dtype)

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        return constraints.independent(constraints.real, self.event_dim)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(Delta, _instance)
        new.v = self.v.expand(batch_shape + self.event_shape)
        new.log_density = self.log_density.expand(batch_shape)
        new._dtype = self._dtype
        new._log_density_number = None
        super(Delta, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=torch.Size()):
        if not sample_shape:
            return self.v  # no view: an autograd node fewer per draw
        return self.v.expand(torch.Size(sample_shape) + self.v.shape)

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            return self.v.expand(torch.Size(sample_shape) + self.v.shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # log(1[value == v]) summed over the event: 0 where the whole event agrees, -inf
        # elsewhere, i.e. the log of all(); log of a bool tensor is in the default dtype
        hit = value == self.v
        if self.event_dim:
            hit = hit.flatten(-self.event_dim).all(-1)
        if self._dtype != torch.get_default_dtype():
            hit = hit.to(self._dtype)
        log_prob = hit.log()
        number = self._log_density_number
        if number is None:
            return log_prob + self.log_density
        # log_prob is 0 or -inf: adding 0 would change nothing
        return log_prob + number if number else log_prob

    @property
    def mean(self):
        return self.v

    @property
    def variance(self):
        return torch.zeros_like(self.v)
