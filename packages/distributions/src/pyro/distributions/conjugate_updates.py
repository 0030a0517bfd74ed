"""``conjugate_update`` for the torch families closed under multiplication of densities.

Mixed into the generated wrappers of :mod:`.torch` (``Beta``, ``Gamma``, ``Dirichlet``).
For two members ``f`` and ``g`` of one of these families the product of densities is,
up to a constant, a member of the same family::

    fg, log_normalizer = f.conjugate_update(g)
    f.log_prob(x) + g.log_prob(x) == fg.log_prob(x) + log_normalizer

so a prior updated by a pseudo-likelihood of its own family (as
:class:`~pyro.infer.reparam.ConjugateReparam` does) has a closed form. With natural
parameters ``eta`` and log normalizer ``A(eta)`` (exponential-family form), ``fg`` has
natural parameters ``eta_f + eta_g`` and ``log_normalizer = A(eta_fg) - A(eta_f) - A(eta_g)``
(the base measures of these three families are constant).

``fg`` has batch shape ``broadcast(f.batch_shape, g.batch_shape)``; its parameters follow
the inputs' device and dtype.
"""
from __future__ import annotations

import torch

__all__ = ["CONJUGATE_UPDATES"]


def _check_other(self, other, family: str) -> None:
    if not isinstance(other, torch.distributions.__dict__[family]):
        raise TypeError(f"{type(self).__name__}.conjugate_update: expected another {family} "
                        f"distribution, got {type(other).__name__}; the product of a "
                        f"{family} and a {type(other).__name__} density is not a {family}")


def _log_beta(c1: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(c1) + torch.lgamma(c0) - torch.lgamma(c1 + c0)


def _log_multivariate_beta(concentration: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(concentration).sum(-1) - torch.lgamma(concentration.sum(-1))


class _BetaConjugateUpdate:
    def conjugate_update(self, other):
        """EXPERIMENTAL. The product with another ``Beta``:
        ``Beta(a1, b1) * Beta(a2, b2) = Beta(a1 + a2 - 1, b1 + b2 - 1) * exp(log_normalizer)``.

        :param other: a ``Beta`` density of the same variable.
        :returns: ``(fg, log_normalizer)``, ``log_normalizer`` of shape ``fg.batch_shape``.
        :raises TypeError: when ``other`` is not a ``Beta``.
        """
        _check_other(self, other, "Beta")
        c1 = self.concentration1 + other.concentration1 - 1
        c0 = self.concentration0 + other.concentration0 - 1
        updated = type(self)(c1, c0)
        log_normalizer = (_log_beta(c1, c0) - _log_beta(self.concentration1, self.concentration0)
                          - _log_beta(other.concentration1, other.concentration0))
        return updated, log_normalizer


class _GammaConjugateUpdate:
    def conjugate_update(self, other):
        """EXPERIMENTAL. The product with another ``Gamma`` (shape ``concentration``,
        ``rate``): ``Gamma(a1, r1) * Gamma(a2, r2) = Gamma(a1 + a2 - 1, r1 + r2) *
        exp(log_normalizer)``.

        :param other: a ``Gamma`` density of the same variable.
        :returns: ``(fg, log_normalizer)``, ``log_normalizer`` of shape ``fg.batch_shape``.
        :raises TypeError: when ``other`` is not a ``Gamma``.
        """
        _check_other(self, other, "Gamma")
        concentration = self.concentration + other.concentration - 1
        rate = self.rate + other.rate
        updated = type(self)(concentration, rate)

        def log_z(a, r):  # log of the Gamma normalizing constant Gamma(a) / r**a
            return torch.lgamma(a) - a * r.log()

        log_normalizer = (log_z(concentration, rate) - log_z(self.concentration, self.rate)
                          - log_z(other.concentration, other.rate))
        return updated, log_normalizer


class _DirichletConjugateUpdate:
    def conjugate_update(self, other):
        """EXPERIMENTAL. The product with another ``Dirichlet`` over the same simplex:
        ``Dirichlet(c1) * Dirichlet(c2) = Dirichlet(c1 + c2 - 1) * exp(log_normalizer)``.

        :param other: a ``Dirichlet`` with the same ``event_shape``.
        :returns: ``(fg, log_normalizer)``, ``log_normalizer`` of shape ``fg.batch_shape``.
        :raises TypeError: when ``other`` is not a ``Dirichlet``.
        :raises ValueError: when the event shapes differ.
        """
        _check_other(self, other, "Dirichlet")
        if self.event_shape != other.event_shape:
            raise ValueError(f"Dirichlet.conjugate_update: event shapes differ "
                             f"({tuple(self.event_shape)} vs {tuple(other.event_shape)}); "
                             f"both must be densities over one simplex")
        concentration = self.concentration + other.concentration - 1
        updated = type(self)(concentration)
        log_normalizer = (_log_multivariate_beta(concentration)
                          - _log_multivariate_beta(self.concentration)
                          - _log_multivariate_beta(other.concentration))
        return updated, log_normalizer


#: family name -> mixin adding ``conjugate_update``.
CONJUGATE_UPDATES = {
    "Beta": _BetaConjugateUpdate,
    "Gamma": _GammaConjugateUpdate,
    "Dirichlet": _DirichletConjugateUpdate,
}
