"""KL divergences: torch's registry plus the pairs Pyro's ELBOs need.

``kl_divergence`` and ``register_kl`` are torch's own (one registry); importing this module
adds Pyro's registrations:

- ``Independent || Independent`` with different numbers of reinterpreted dimensions
  (torch only handles equal ones);
- ``Delta || anything``: :math:`-\\log q(v)` (the point mass has no entropy term);
- ``MaskedDistribution || anything``, ``anything || MaskedDistribution``: the KL of the
  bases, zero where the mask is False;
- ``ExpandedDistribution`` pairs: the KL of the bases, broadcast to the batch shape;
- ``Independent(Normal) || MultivariateNormal`` and the reverse.

Normal/Normal, Beta/Beta, Gamma/Gamma, Dirichlet/Dirichlet, MultivariateNormal pairs and
the rest come from torch, and apply to the Pyro wrappers, which subclass torch's classes.
"""
from __future__ import annotations

import torch
from torch.distributions import MultivariateNormal as _TorchMVN
from torch.distributions import Normal as _TorchNormal
from torch.distributions.kl import kl_divergence, register_kl

from .delta import Delta
from .torch_distribution import ExpandedDistribution, Independent, MaskedDistribution
from .util import broadcast_shape, scale_and_mask, sum_rightmost

__all__ = ["kl_divergence", "register_kl"]


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    shared = min(p.reinterpreted_batch_ndims, q.reinterpreted_batch_ndims)
    p_extra = p.reinterpreted_batch_ndims - shared
    q_extra = q.reinterpreted_batch_ndims - shared
    p_inner = Independent(p.base_dist, p_extra) if p_extra else p.base_dist
    q_inner = Independent(q.base_dist, q_extra) if q_extra else q.base_dist
    return sum_rightmost(kl_divergence(p_inner, q_inner), shared)


@register_kl(Delta, torch.distributions.Distribution)
def _kl_delta(p, q):
    return -q.log_prob(p.v)


@register_kl(Delta, Independent)
def _kl_delta_independent(p, q):
    return -q.log_prob(p.v)


@register_kl(MaskedDistribution, torch.distributions.Distribution)
def _kl_masked_any(p, q):
    return _masked_kl(kl_divergence(p.base_dist, q), p._mask)


@register_kl(torch.distributions.Distribution, MaskedDistribution)
def _kl_any_masked(p, q):
    return _masked_kl(kl_divergence(p, q.base_dist), q._mask)


@register_kl(MaskedDistribution, MaskedDistribution)
def _kl_masked_masked(p, q):
    kl = kl_divergence(p.base_dist, q.base_dist)
    return _masked_kl(_masked_kl(kl, p._mask), q._mask)


@register_kl(Delta, MaskedDistribution)
def _kl_delta_masked(p, q):
    return _masked_kl(-q.base_dist.log_prob(p.v), q._mask)


@register_kl(MaskedDistribution, ExpandedDistribution)
def _kl_masked_expanded(p, q):
    return _masked_kl(kl_divergence(p.base_dist, q), p._mask)


@register_kl(ExpandedDistribution, MaskedDistribution)
def _kl_expanded_masked(p, q):
    return _masked_kl(kl_divergence(p, q.base_dist), q._mask)


@register_kl(Delta, ExpandedDistribution)
def _kl_delta_expanded(p, q):
    return -q.log_prob(p.v)


def _masked_kl(kl, mask):
    if mask is True:
        return kl
    if mask is False:
        return torch.zeros_like(kl)
    return scale_and_mask(kl, mask=mask)


@register_kl(ExpandedDistribution, torch.distributions.Distribution)
def _kl_expanded_any(p, q):
    kl = kl_divergence(p.base_dist, q)
    return kl.expand(broadcast_shape(kl.shape, p.batch_shape))


@register_kl(torch.distributions.Distribution, ExpandedDistribution)
def _kl_any_expanded(p, q):
    kl = kl_divergence(p, q.base_dist)
    return kl.expand(broadcast_shape(kl.shape, q.batch_shape))


@register_kl(ExpandedDistribution, ExpandedDistribution)
def _kl_expanded_expanded(p, q):
    kl = kl_divergence(p.base_dist, q.base_dist)
    return kl.expand(broadcast_shape(kl.shape, p.batch_shape, q.batch_shape))


def _diag_normal_as_mvn(p: Independent):
    if p.reinterpreted_batch_ndims != 1 or not isinstance(p.base_dist, _TorchNormal):
        raise NotImplementedError(
            "kl_divergence between Independent and MultivariateNormal needs an "
            "Independent(Normal, 1)"
        )
    base = p.base_dist
    return _TorchMVN(base.loc, scale_tril=torch.diag_embed(base.scale))


@register_kl(Independent, _TorchMVN)
def _kl_independent_mvn(p, q):
    return kl_divergence(_diag_normal_as_mvn(p), q)


@register_kl(_TorchMVN, Independent)
def _kl_mvn_independent(p, q):
    return kl_divergence(p, _diag_normal_as_mvn(q))
