"""Pyro's abstract base of distributions (``pyro.distributions.Distribution``)."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod

import torch

from .score_parts import ScoreParts

__all__ = ["Distribution", "DistributionMeta"]


class DistributionMeta(ABCMeta):
    """Metaclass of :class:`Distribution`: an ``ABCMeta`` (so that torch's distributions are
    registered as virtual subclasses); extensions hook class construction here."""


class Distribution(metaclass=DistributionMeta):
    """Base class for parameterized probability distributions.

    Distributions in Pyro are stochastic function objects with :meth:`sample` and
    :meth:`log_prob` methods, called with fixed parameters::

        d = dist.Bernoulli(param)
        x = d()              # draws a random sample
        p = d.log_prob(x)    # evaluates the log probability of x

    Every :class:`torch.distributions.Distribution` (hence every Pyro family) is a virtual
    subclass: ``isinstance(dist.Normal(0, 1), dist.Distribution)`` holds.

    **Implementing new distributions**: derive from
    :class:`~pyro.distributions.TorchDistribution` (torch's shape machinery and Pyro's
    methods), or from this class implementing at least :meth:`sample` and :meth:`log_prob`.
    """

    has_rsample = False
    has_enumerate_support = False

    def __call__(self, *args, **kwargs):
        """Draw a random value (``sample`` with the same arguments)."""
        return self.sample(*args, **kwargs)

    @abstractmethod
    def sample(self, *args, **kwargs):
        """A random value (or a batch of them), as a tensor."""
        raise NotImplementedError

    @abstractmethod
    def log_prob(self, x, *args, **kwargs):
        """The log density (or mass) of ``x``, one number per batch element."""
        raise NotImplementedError

    def score_parts(self, x, *args, **kwargs) -> ScoreParts:
        """The ELBO terms at ``x``: ``(log_prob, 0, log_prob)`` when reparameterized, else
        ``(log_prob, log_prob, 0)``."""
        log_prob = self.log_prob(x, *args, **kwargs)
        if self.has_rsample:
            return ScoreParts(log_prob=log_prob, score_function=0, entropy_term=log_prob)
        return ScoreParts(log_prob=log_prob, score_function=log_prob, entropy_term=0)

    def enumerate_support(self, expand: bool = True):
        """Every value of a discrete distribution's support, stacked on a new leftmost
        dimension.

        :raises NotImplementedError: unless overridden (``has_enumerate_support`` says)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    def conjugate_update(self, other):
        """For a conjugate ``other``, the pair ``(updated, log_normalizer)`` with
        ``updated.log_prob(x) + log_normalizer == self.log_prob(x) + other.log_prob(x)``.

        :raises NotImplementedError: unless overridden."""
        raise NotImplementedError(f"{type(self).__name__} does not implement conjugate_update")

    def has_rsample_(self, value: bool):
        """Force reparameterized (``True``) or score-function (``False``) gradients; returns
        ``self``. Forcing ``True`` on a family without ``rsample`` raises ``ValueError``."""
        if not isinstance(value, bool):
            raise ValueError(f"has_rsample_ expects a bool, got {value!r}")
        if value is False:
            self.has_rsample = False
        elif not type(self).has_rsample and not getattr(type(self), "rsample", None):
            raise ValueError(f"{type(self).__name__} has no rsample")
        else:
            self.has_rsample = True
        return self

    @property
    def rv(self):
        """``self`` wrapped for arithmetic on random variables (needs ``pyro.contrib``,
        out of this project's scope)."""
        raise NotImplementedError("Distribution.rv needs pyro.contrib.randvar, which this "
                                  "project does not ship")


# torch's distributions (and so every Pyro family) are Pyro distributions
Distribution.register(torch.distributions.Distribution)
