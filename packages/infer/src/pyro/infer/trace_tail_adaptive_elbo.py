"""``TraceTailAdaptive_ELBO``: gradients of the tail-adaptive f-divergence."""
from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from .importance_weighted_elbo import ImportanceWeightedELBO
from .util import check_fully_reparametrized, torch_item

__all__ = ["TraceTailAdaptive_ELBO"]


class TraceTailAdaptive_ELBO(ImportanceWeightedELBO):
    """Variational inference with the tail-adaptive f-divergence of [1].

    With ``K`` reparameterized guide draws and log weights ``log w_i = log p(x, z_i) -
    log q(z_i)``, the gradient is

    .. math:: -\\sum_i \\rho_i \\nabla \\log w_i, \\qquad
        \\rho_i \\propto \\hat F(w_i)^{\\beta}, \\quad
        \\hat F(t) = \\tfrac{1}{K} \\#\\{j : w_j \\ge t\\}

    (``beta = tail_adaptive_beta < 0``), with ``grad log w_i`` the path derivative
    through the reparameterized draw ``z_i`` only (the guide's parameters held fixed in
    ``log q``, whose explicit score has mean zero but would correlate with the
    weights). The weights depend on the ranks of the ``w_i``
    only, so they stay bounded however heavy the tail of ``w`` is. The objective itself
    has no closed form; :meth:`loss` reports the ordinary ELBO estimate
    ``-mean_i log w_i`` to monitor convergence, and :meth:`differentiable_loss` has that
    value with the tail-adaptive gradient.

    Takes :class:`~pyro.infer.elbo.ELBO`'s arguments; set ``num_particles > 1`` (with one
    particle the gradient is the ELBO's) and, for speed, ``vectorize_particles=True``.

    :raises ValueError: for ``tail_adaptive_beta >= 0``, or a guide site that cannot be
        reparameterized (named).

    **References**

    [1] D. Wang, H. Liu, Q. Liu, "Variational Inference with Tail-adaptive
        f-Divergence", NeurIPS 2018.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.tail_adaptive_beta >= 0:
            raise ValueError(
                f"TraceTailAdaptive_ELBO: tail_adaptive_beta must be negative, got "
                f"{self.tail_adaptive_beta}"
            )
        self._reparam_checked = False
        if self.num_particles == 1:
            warnings.warn(
                "TraceTailAdaptive_ELBO with num_particles=1 is Trace_ELBO; use several "
                "particles", stacklevel=2
            )

    def _surrogate(self, model: Callable, guide: Callable, args, kwargs):
        if not self._reparam_checked:
            self._check_reparam(model, guide, args, kwargs)
            self._reparam_checked = True
        parts = self._particle_log_probs(model, guide, args, kwargs, path_derivative=True)
        log_w = parts.log_weights
        elbo = log_w.detach().mean()
        # F(w_i) * K = number of particles whose weight is at least w_i
        lw = log_w.detach()
        tail_count = (lw.unsqueeze(0) >= lw.unsqueeze(1)).sum(1).to(lw.dtype)
        rho = tail_count.pow(self.tail_adaptive_beta)
        rho = rho / rho.sum()
        surrogate = (rho * log_w).sum()
        return -elbo, -(elbo + (surrogate - surrogate.detach()))

    def _check_reparam(self, model, guide, args, kwargs) -> None:
        from pyro import poutine

        with poutine.block():
            trace = poutine.trace(guide).get_trace(*args, **kwargs)
        for site in trace.nodes.values():
            if site["type"] == "sample" and not site["is_observed"]:
                check_fully_reparametrized(site)

    def loss(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """The ELBO estimate ``-mean_i log w_i`` (a float), to monitor convergence."""
        with torch.no_grad():
            return torch_item(self._surrogate(model, guide, args, kwargs)[0])

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """A tensor with the value of :meth:`loss` and the tail-adaptive gradient."""
        return self._surrogate(model, guide, args, kwargs)[1]
