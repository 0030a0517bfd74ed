"""The marginal likelihood of grouped normal observations with normal group means."""
from __future__ import annotations

import math

import torch

from . import constraints
from .torch import Normal
from .torch_distribution import TorchDistribution

__all__ = ["GroupedNormalNormal"]


class GroupedNormalNormal(TorchDistribution):
    r"""Likelihood of groups of real scalar observations with each group's latent mean
    integrated out: :math:`\mu_g \sim \mathcal N(\mathrm{prior\_loc}_g,
    \mathrm{prior\_scale}_g^2)` and :math:`y_i \sim \mathcal N(\mu_{g(i)},
    \mathrm{obs\_scale}_i^2)` with :math:`g(i)` = ``group_idx[i]``.

    Per group, with :math:`w_i = \sigma_i^{-2}`, :math:`W = \sum w_i`, residuals
    :math:`r_i = y_i - m` and prior :math:`\mathcal N(m, \tau^2)` (Sherman-Morrison on the
    marginal covariance :math:`\mathrm{diag}(\sigma^2) + \tau^2 11^\top`, cf. [1] eq. 55):

    .. math:: \log p = \sum_i \log\mathcal N(y_i; m, \sigma_i^2) - \tfrac12\log(1 + \tau^2 W)
        + \tfrac12 \frac{(\sum_i w_i r_i)^2}{\tau^{-2} + W}.

    ``log_prob`` returns the total over all observations (``batch_shape = ()``,
    ``event_shape = (num_data,)``).

    :param prior_loc: shape ``(num_groups,)``.
    :param prior_scale: positive, shape ``(num_groups,)``.
    :param obs_scale: positive, shape ``(num_data,)`` (or a scalar).
    :param group_idx: long tensor of shape ``(num_data,)`` with values in
        ``[0, num_groups)``.
    :raises ValueError: on shape mismatches or indices out of range.

    **References**

    [1] K.P. Murphy (2007), *Conjugate Bayesian analysis of the Gaussian distribution*.
    """

    arg_constraints = {
        "prior_loc": constraints.real,
        "prior_scale": constraints.positive,
        "obs_scale": constraints.positive,
    }
    support = constraints.real_vector

    def __init__(self, prior_loc, prior_scale, obs_scale, group_idx, validate_args=None) -> None:
        if prior_loc.dim() != 1 or prior_loc.shape != prior_scale.shape:
            raise ValueError("GroupedNormalNormal: prior_loc and prior_scale must have one "
                             f"shape (num_groups,), got {tuple(prior_loc.shape)} and "
                             f"{tuple(prior_scale.shape)}")
        if group_idx.dim() != 1 or group_idx.dtype not in (torch.long, torch.int32, torch.int64):
            raise ValueError("GroupedNormalNormal: group_idx must be a 1-d integer tensor")
        if group_idx.numel() and (group_idx.min() < 0 or group_idx.max() >= len(prior_loc)):
            raise ValueError(f"GroupedNormalNormal: group_idx values must lie in "
                             f"[0, {len(prior_loc)})")
        obs_scale = torch.as_tensor(obs_scale, dtype=prior_loc.dtype,
                                    device=prior_loc.device).expand(group_idx.shape)
        self.prior_loc = prior_loc
        self.prior_scale = prior_scale
        self.obs_scale = obs_scale
        self.group_idx = group_idx.long()
        self.num_groups = len(prior_loc)
        super().__init__(torch.Size(), group_idx.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return super().expand(batch_shape, _instance)

    def _group_sums(self, x: torch.Tensor) -> torch.Tensor:
        out = x.new_zeros(x.shape[:-1] + (self.num_groups,))
        return out.index_add(-1, self.group_idx, x)

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            mu = Normal(self.prior_loc, self.prior_scale).sample(sample_shape)
            mean = mu[..., self.group_idx]
            return mean + self.obs_scale * torch.randn_like(mean)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        m = self.prior_loc[self.group_idx]
        w = self.obs_scale.pow(-2)
        r = value - m
        indep = (-0.5 * w * r**2 - self.obs_scale.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        big_w = self._group_sums(w)
        wr = self._group_sums(w * r)
        tau2 = self.prior_scale.pow(2)
        correction = -0.5 * torch.log1p(tau2 * big_w) + 0.5 * wr**2 / (1 / tau2 + big_w)
        return indep + correction.sum(-1)

    def get_posterior(self, value) -> Normal:
        """The posterior of the latent group means given observations ``value``: a
        :class:`~pyro.distributions.Normal` with batch shape ``(num_groups,)`` (plus the
        leading shape of ``value``)."""
        w = self.obs_scale.pow(-2)
        precision = self.prior_scale.pow(-2) + self._group_sums(w.expand(value.shape))
        loc = (self.prior_loc * self.prior_scale.pow(-2) + self._group_sums(w * value))
        return Normal(loc / precision, precision.rsqrt())
