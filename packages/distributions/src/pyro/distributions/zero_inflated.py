"""Zero-inflated count distributions."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

from .torch import NegativeBinomial, Poisson
from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["ZeroInflatedDistribution", "ZeroInflatedNegativeBinomial", "ZeroInflatedPoisson"]


class ZeroInflatedDistribution(TorchDistribution):
    r"""Mixture of a point mass at zero (weight ``gate``) and ``base_dist`` (weight ``1 -
    gate``): :math:`p(0) = g + (1-g)\,b(0)`, :math:`p(k) = (1-g)\,b(k)` for :math:`k \ne 0`.

    :param base_dist: a univariate distribution (``event_shape == ()``).
    :param gate: probability of the extra zero, shape broadcastable with the batch shape.
    :param gate_logits: the same as logits (give exactly one of ``gate``, ``gate_logits``).
    :raises ValueError: if both or neither gate is given, or ``base_dist`` is multivariate.
    """

    arg_constraints = {"gate": constraints.unit_interval, "gate_logits": constraints.real}

    def __init__(self, base_dist, *, gate: torch.Tensor | None = None,
                 gate_logits: torch.Tensor | None = None, validate_args=None) -> None:
        if (gate is None) == (gate_logits is None):
            raise ValueError(
                f"{type(self).__name__}: give exactly one of gate and gate_logits"
            )
        if base_dist.event_shape:
            raise ValueError(
                f"{type(self).__name__}: base_dist must be univariate, got event_shape "
                f"{tuple(base_dist.event_shape)}"
            )
        given = gate if gate is not None else gate_logits
        if not isinstance(given, torch.Tensor):
            device = next((v.device for v in vars(base_dist).values()
                           if isinstance(v, torch.Tensor)), None)
            given = torch.tensor(given, dtype=torch.get_default_dtype(), device=device)
        batch_shape = broadcast_shape(given.shape, base_dist.batch_shape)
        if gate is not None:
            self.gate = given.expand(batch_shape)
        else:
            self.gate_logits = given.expand(batch_shape)
        self.base_dist = base_dist.expand(batch_shape)
        super().__init__(batch_shape, torch.Size(), validate_args=validate_args)

    @lazy_property
    def gate(self):
        return logits_to_probs(self.gate_logits, is_binary=True)

    @lazy_property
    def gate_logits(self):
        return probs_to_logits(self.gate, is_binary=True)

    @constraints.dependent_property
    def support(self):
        return self.base_dist.support

    def _expand_into(self, new, batch_shape):
        if "gate" in self.__dict__:
            new.gate = self.gate.expand(batch_shape)
        if "gate_logits" in self.__dict__:
            new.gate_logits = self.gate_logits.expand(batch_shape)
        new.base_dist = self.base_dist.expand(batch_shape)
        TorchDistribution.__init__(new, batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return self._expand_into(self._get_checked_instance(ZeroInflatedDistribution, _instance),
                                 batch_shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        if "gate" in self.__dict__:
            gate, value = broadcast_all(self.gate, value)
            log_gate = gate.clamp_min(torch.finfo(gate.dtype).tiny).log()
            log_not_gate = (-gate).log1p()
        else:
            logits, value = broadcast_all(self.gate_logits, value)
            log_gate = -F.softplus(-logits)
            log_not_gate = -F.softplus(logits)
        base = log_not_gate + self.base_dist.log_prob(value)
        return torch.where(value == 0, torch.logaddexp(log_gate, base), base)

    def sample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            zero = torch.bernoulli(self.gate.expand(shape)).bool()
            x = self.base_dist.sample(sample_shape)
            return torch.where(zero, x.new_zeros(()), x)

    @property
    def mean(self):
        return (1 - self.gate) * self.base_dist.mean

    @property
    def variance(self):
        m = self.base_dist.mean
        return (1 - self.gate) * (self.base_dist.variance + m**2) - self.mean**2


class ZeroInflatedPoisson(ZeroInflatedDistribution):
    """Zero-inflated :class:`~pyro.distributions.Poisson`.

    :param rate: the Poisson rate (positive).
    :param gate: probability of an extra zero; or ``gate_logits``.
    """

    arg_constraints = {
        "rate": constraints.positive,
        "gate": constraints.unit_interval,
        "gate_logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(self, rate, *, gate=None, gate_logits=None, validate_args=None) -> None:
        base_dist = Poisson(rate, validate_args=False)  # validated here, by name
        super().__init__(base_dist, gate=gate, gate_logits=gate_logits,
                         validate_args=validate_args)

    @property
    def rate(self):
        return self.base_dist.rate

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return self._expand_into(self._get_checked_instance(ZeroInflatedPoisson, _instance),
                                 batch_shape)


class ZeroInflatedNegativeBinomial(ZeroInflatedDistribution):
    """Zero-inflated :class:`~pyro.distributions.NegativeBinomial`.

    :param total_count: number of failures until the experiment stops (positive).
    :param probs: success probability (or ``logits``).
    :param gate: probability of an extra zero; or ``gate_logits``.
    """

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
        "gate": constraints.unit_interval,
        "gate_logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(self, total_count, *, probs=None, logits=None, gate=None, gate_logits=None,
                 validate_args=None) -> None:
        base_dist = NegativeBinomial(total_count, probs=probs, logits=logits,
                                     validate_args=False)  # validated here, by name
        super().__init__(base_dist, gate=gate, gate_logits=gate_logits,
                         validate_args=validate_args)

    @property
    def total_count(self):
        return self.base_dist.total_count

    @property
    def probs(self):
        return self.base_dist.probs

    @property
    def logits(self):
        return self.base_dist.logits

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(ZeroInflatedNegativeBinomial, _instance)
        return self._expand_into(new, batch_shape)
