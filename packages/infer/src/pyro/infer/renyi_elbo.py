"""``RenyiELBO``: the variational Renyi bound, importance weighted (IWAE at ``alpha=0``)."""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch

from .importance_weighted_elbo import ImportanceWeightedELBO
from .util import is_validation_enabled, torch_item

__all__ = ["RenyiELBO"]


class RenyiELBO(ImportanceWeightedELBO):
    """The variational Renyi bound of order ``alpha`` [1], estimated with
    ``num_particles`` guide draws ``z_i``:

    .. math::

        \\mathcal{L}_\\alpha = \\frac{1}{1 - \\alpha}
            \\log \\frac{1}{K} \\sum_{i=1}^K
            \\left(\\frac{p(x, z_i)}{q(z_i)}\\right)^{1 - \\alpha}

    The loss is ``-L_alpha``. ``alpha = 0`` gives the importance weighted bound of [2],
    which tightens toward ``log p(x)`` as ``K`` grows; ``alpha -> 1`` is the ELBO (not
    allowed here: use :class:`~pyro.infer.Trace_ELBO`); ``alpha < 0`` bounds ``log p(x)``
    from above in expectation. With ``K = 1`` every ``alpha`` gives the ELBO estimate.

    Gradients: reparameterized sites through the draws (each particle weighted by its
    normalized weight ``softmax((1 - alpha) log w)_i``); non-reparameterized guide
    sites add the score-function term ``L * sum_i grad log q(z_i)``.

    :param float alpha: the order of the divergence, ``alpha != 1`` (default 0).
    :param int num_particles: ``K``, the number of draws per estimate (default 2).
    :param max_plate_nesting: bound on nested plates (``inf``: found by running once).
    :param max_iarange_nesting: deprecated alias of ``max_plate_nesting``.
    :param bool vectorize_particles: draw all particles in one vectorized run.
    :param bool strict_enumeration_warning: kept for API compatibility (no enumeration).
    :raises ValueError: for ``alpha == 1``.

    **References**

    [1] Y. Li, R. E. Turner, "Renyi Divergence Variational Inference", NeurIPS 2016.
    [2] Y. Burda, R. Grosse, R. Salakhutdinov, "Importance Weighted Autoencoders",
        ICLR 2016.
    """

    def __init__(
        self,
        alpha: float = 0,
        num_particles: int = 2,
        max_plate_nesting: float = float("inf"),
        max_iarange_nesting: Any = None,
        vectorize_particles: bool = False,
        strict_enumeration_warning: bool = True,
    ) -> None:
        if alpha == 1:
            raise ValueError(
                "RenyiELBO: alpha = 1 is the ordinary ELBO; use Trace_ELBO instead"
            )
        super().__init__(
            num_particles=num_particles,
            max_plate_nesting=max_plate_nesting,
            max_iarange_nesting=max_iarange_nesting,
            vectorize_particles=vectorize_particles,
            strict_enumeration_warning=strict_enumeration_warning,
        )
        self.alpha = alpha

    def _surrogate(self, model: Callable, guide: Callable, args, kwargs):
        """``(loss, surrogate_loss)``: the estimate of ``-L_alpha`` (detached) and a
        tensor with the same value whose gradient is the estimator's."""
        parts = self._particle_log_probs(model, guide, args, kwargs)
        log_w = parts.log_weights
        scaled = (1.0 - self.alpha) * log_w
        bound = (scaled.logsumexp(0) - math.log(log_w.numel())) / (1.0 - self.alpha)
        # d bound = sum_i softmax(scaled)_i * d log w_i (the pathwise part)
        weights = torch.softmax(scaled.detach(), 0)
        surrogate = (weights * log_w).sum()
        if isinstance(parts.score_function, torch.Tensor):
            surrogate = surrogate + bound.detach() * parts.score_function.sum()
        surrogate = bound.detach() + (surrogate - surrogate.detach())
        if is_validation_enabled() and torch.isnan(bound):
            warnings.warn("Encountered NaN: loss", stacklevel=3)
        return -bound.detach(), -surrogate

    def loss(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """An estimate of ``-L_alpha`` (a float)."""
        with torch.no_grad():
            return torch_item(self._surrogate(model, guide, args, kwargs)[0])

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """``-L_alpha`` as a tensor whose gradient is the estimator's gradient."""
        return self._surrogate(model, guide, args, kwargs)[1]
