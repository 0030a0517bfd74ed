"""Dirichlet and Beta sampled by normalizing Gamma draws (a naive reparameterization whose
gradients have higher variance than torch's; used to test gradient estimators)."""
from __future__ import annotations

import torch

from ..torch import Beta, Dirichlet, Gamma

__all__ = ["NaiveBeta", "NaiveDirichlet"]


class NaiveDirichlet(Dirichlet):
    r"""Dirichlet whose ``rsample`` normalizes independent reparameterized
    :math:`\mathrm{Gamma}(\alpha_i, 1)` draws: :math:`x_i = g_i / \sum_j g_j`.

    :param concentration: shape ``batch_shape + (K,)``, positive.
    """

    has_rsample = True

    def rsample(self, sample_shape=torch.Size()):
        alpha = self.concentration
        gammas = Gamma(alpha, torch.ones_like(alpha)).rsample(sample_shape)
        gammas = gammas.clamp(min=torch.finfo(gammas.dtype).tiny)
        return gammas / gammas.sum(-1, keepdim=True)


class NaiveBeta(Beta):
    r"""Beta whose ``rsample`` is :math:`g_1 / (g_1 + g_0)` with reparameterized
    :math:`g_i \sim \mathrm{Gamma}(c_i, 1)`.

    :param concentration1: positive.
    :param concentration0: positive.
    """

    has_rsample = True

    def rsample(self, sample_shape=torch.Size()):
        alpha = torch.stack([self.concentration1, self.concentration0], -1)
        return NaiveDirichlet(alpha, validate_args=False).rsample(sample_shape)[..., 0]
