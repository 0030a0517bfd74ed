"""``Trace_MMD``: the ELBO with the KL term replaced by a maximum mean discrepancy."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pyro import poutine

from .elbo import ELBO
from .importance import sum_to_particles
from .util import check_fully_reparametrized, is_validation_enabled, site_is_subsample, torch_item

__all__ = ["Trace_MMD"]

Kernel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _unbiased_mmd2(kernel: Kernel, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The unbiased estimate of ``MMD^2`` from draws ``x`` and ``y``, each ``(N, D)``:
    means of ``k`` over distinct pairs within each set, minus twice the cross mean."""
    n, m = x.size(0), y.size(0)
    kxx = kernel(x, x)
    kyy = kernel(y, y)
    kxy = kernel(x, y)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return within_x + within_y - 2.0 * kxy.mean()


class Trace_MMD(ELBO):
    """An ELBO-like objective whose regularizer is the maximum mean discrepancy between
    the guide's marginal ``q(z)`` and the prior ``p(z)`` of each latent site, instead of
    ``KL(q(z | x) || p(z))`` (the MMD-VAE / InfoVAE objective [1, 2]):

    .. math:: L = -E_{q(z)} \\log p(x | z) + \\sum_s \\lambda_s
        \\mathrm{MMD}^2(q(z_s), p(z_s)),

    .. math:: \\mathrm{MMD}^2(q, p) = E k(z, z') + E k(y, y') - 2 E k(z, y),
        \\quad z, z' \\sim q,\\ y, y' \\sim p

    estimated without bias from the ``num_particles`` guide draws and as many prior
    draws (each site's model distribution given the guide's values of its parents).
    Only the particle dim is a sample dim of the MMD: each particle's whole value of a
    site (all of its plates and event dims, flattened to ``D``) is one point, so use
    many particles. The guide must be reparameterized.

    :param kernel: a callable ``kernel(X, Z) -> (N, M)`` Gram matrix for points
        ``X (N, D)``, ``Z (M, D)`` (e.g. a ``pyro.contrib.gp`` kernel), or a dict
        ``{site name: kernel}``.
    :param mmd_scale: ``lambda``, a float or a dict ``{site name: float}`` (default 1).
    :param int num_particles: draws per estimate, at least 2 (default 10).
    :param bool vectorize_particles: draw them in one vectorized run (default
        ``True``).

    Other arguments as :class:`~pyro.infer.elbo.ELBO`.

    :raises ValueError: for fewer than 2 particles, a latent site with no kernel, or a
        guide site that cannot be reparameterized (named).

    **References**

    [1] S. Zhao, J. Song, S. Ermon, "InfoVAE: Balancing Learning and Inference in
        Variational Autoencoders", AAAI 2019.
    [2] A. Gretton, K. Borgwardt, M. Rasch, B. Schoelkopf, A. Smola, "A Kernel
        Two-Sample Test", JMLR 2012.
    """

    def __init__(
        self,
        kernel: Kernel | dict[str, Kernel],
        mmd_scale: float | dict[str, float] = 1,
        num_particles: int = 10,
        max_plate_nesting: float = float("inf"),
        max_iarange_nesting: Any = None,
        vectorize_particles: bool = True,
        strict_enumeration_warning: bool = True,
        ignore_jit_warnings: bool = False,
        retain_graph: Any = None,
    ) -> None:
        super().__init__(
            num_particles=num_particles,
            max_plate_nesting=max_plate_nesting,
            max_iarange_nesting=max_iarange_nesting,
            vectorize_particles=vectorize_particles,
            strict_enumeration_warning=strict_enumeration_warning,
            ignore_jit_warnings=ignore_jit_warnings,
            retain_graph=retain_graph,
        )
        if num_particles < 2:
            raise ValueError("Trace_MMD: num_particles must be at least 2 (MMD compares "
                             "draws with each other)")
        self.kernel = kernel
        self.mmd_scale = mmd_scale

    def _site_kernel(self, name: str) -> Kernel:
        if not isinstance(self.kernel, dict):
            return self.kernel
        kernel = self.kernel.get(name)
        if kernel is None:
            raise ValueError(f"Trace_MMD: no kernel for latent site {name!r} in the kernel "
                             f"dict (keys: {sorted(self.kernel)})")
        return kernel

    def _site_scale(self, name: str) -> float:
        if isinstance(self.mmd_scale, dict):
            return self.mmd_scale.get(name, 1.0)
        return self.mmd_scale

    def _get_trace(self, model: Callable, guide: Callable, args, kwargs):
        guide_trace = poutine.trace(guide).get_trace(*args, **kwargs)
        model_trace = poutine.trace(poutine.replay(model, trace=guide_trace)).get_trace(
            *args, **kwargs)
        if is_validation_enabled():
            from .checks import check_model_guide_match

            check_model_guide_match(model_trace, guide_trace, self.max_plate_nesting)
        return model_trace, guide_trace

    def _particles(self, model, guide, args, kwargs) -> tuple[torch.Tensor, dict, dict]:
        """``(log_likelihood (N,), {site: guide draws (N, D)}, {site: prior draws (N, D)})``."""
        n = self.num_particles
        pairs = list(self._get_traces(model, guide, args, kwargs))
        vectorized = self.vectorize_particles
        dim = self._particle_dim if vectorized else None
        log_liks: list[Any] = []
        latent: dict[str, list[torch.Tensor]] = {}
        prior: dict[str, list[torch.Tensor]] = {}
        for model_trace, guide_trace in pairs:
            log_lik: Any = 0.0
            model_trace.compute_log_prob(lambda name, site: site["is_observed"])
            for name, site in model_trace.nodes.items():
                if site["type"] != "sample" or site_is_subsample(site):
                    continue
                if site["is_observed"]:
                    log_lik = log_lik + sum_to_particles(site["log_prob"], dim,
                                                         n if vectorized else 1)
                    continue
                guide_site = guide_trace.nodes[name]
                check_fully_reparametrized(guide_site)
                fn = site["fn"]
                draw = fn.rsample() if fn.has_rsample else fn.sample()
                latent.setdefault(name, []).append(site["value"])
                prior.setdefault(name, []).append(draw.expand(site["value"].shape))
            log_liks.append(log_lik)
        if vectorized or not all(isinstance(ll, torch.Tensor) for ll in log_liks):
            log_lik = log_liks[0] if vectorized else sum(log_liks) / n
        else:
            log_lik = torch.cat(log_liks)
        points = {name: _as_points(vs, n, vectorized) for name, vs in latent.items()}
        prior_points = {name: _as_points(vs, n, vectorized) for name, vs in prior.items()}
        return log_lik, points, prior_points

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """The loss as a differentiable scalar tensor."""
        log_lik, points, prior_points = self._particles(model, guide, args, kwargs)
        loss = -log_lik.mean() if isinstance(log_lik, torch.Tensor) else -log_lik
        for name, x in points.items():
            scale = self._site_scale(name)
            if scale:
                mmd2 = _unbiased_mmd2(self._site_kernel(name), x, prior_points[name])
                loss = loss + scale * mmd2
        return loss if isinstance(loss, torch.Tensor) else torch.tensor(float(loss))

    def loss(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """The loss estimate (a float)."""
        with torch.no_grad():
            return torch_item(self.differentiable_loss(model, guide, *args, **kwargs))


def _as_points(values: list[torch.Tensor], n: int, vectorized: bool) -> torch.Tensor:
    """``(N, D)`` points from a site's values: one vectorized value with the particle
    dim first, or one value per particle."""
    if vectorized:
        (value,) = values
        if value.dim() == 0 or value.size(0) != n:
            value = value.expand((n,) + value.shape)
        return value.reshape(n, -1)
    return torch.stack(values).reshape(n, -1)
