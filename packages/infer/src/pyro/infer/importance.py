"""``Importance``: importance sampling with the guide (or the prior) as proposal."""
from __future__ import annotations

import math
import warnings
from typing import Callable, Optional

import torch

from pyro import poutine

from .abstract_infer import TracePosterior

__all__ = ["Importance", "prior_proposal"]


def prior_proposal(model: Callable) -> Callable:
    """The model with its observed sites hidden: running it draws the latent sites from
    the prior (the default proposal of :class:`Importance`)."""
    return poutine.block(model, hide_fn=lambda msg: msg["type"] == "sample" and msg["is_observed"])


class Importance(TracePosterior):
    """Importance sampling (seed 002, 4.3): draw ``num_samples`` traces from ``guide``
    (the prior when ``guide`` is ``None``), replay the model against each and weight it
    by ``log p(x, z) - log q(z)``.

    After ``run(*args)``: :attr:`exec_traces` (model traces), :attr:`log_weights`,
    :meth:`get_log_normalizer` (the log evidence estimate), :meth:`get_normalized_weights`
    and :meth:`get_ESS` (effective sample size ``1 / sum w_i^2``).

    :param model: the model.
    :param guide: the proposal; ``None`` uses the prior.
    :param int num_samples: the number of draws (default 10, with a warning).

    **References**

    [1] A. Doucet, A. Johansen, "A Tutorial on Particle Filtering and Smoothing", 2009
        (importance sampling and the effective sample size).
    """

    def __init__(self, model: Callable, guide: Optional[Callable] = None,
                 num_samples: Optional[int] = None) -> None:
        if num_samples is None:
            num_samples = 10
            warnings.warn("Importance: num_samples not given, using 10", stacklevel=2)
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"Importance: num_samples must be a positive int, got {num_samples!r}")
        super().__init__()
        self.model = model
        self.guide = prior_proposal(model) if guide is None else guide
        self.num_samples = num_samples

    def _traces(self, *args, **kwargs):
        for _ in range(self.num_samples):
            guide_trace = poutine.trace(self.guide).get_trace(*args, **kwargs)
            model_trace = poutine.trace(poutine.replay(self.model, trace=guide_trace)).get_trace(
                *args, **kwargs
            )
            log_weight = model_trace.log_prob_sum() - guide_trace.log_prob_sum()
            yield model_trace, log_weight.detach()

    def get_log_normalizer(self) -> torch.Tensor:
        """``log mean_i exp(log_weight_i)``: an estimate of the log evidence
        ``log p(x)``."""
        lw = self._log_weight_tensor()
        return lw.logsumexp(0) - math.log(lw.numel())

    def get_normalized_weights(self, log_scale: bool = False) -> torch.Tensor:
        """The weights normalized to sum to one (their logs when ``log_scale``)."""
        lw = self._log_weight_tensor()
        lw = lw - lw.logsumexp(0)
        return lw if log_scale else lw.exp()

    def get_ESS(self) -> torch.Tensor:
        """The effective sample size ``1 / sum_i w_i^2`` of the normalized weights."""
        log_w = self.get_normalized_weights(log_scale=True)
        return torch.exp(-torch.logsumexp(2 * log_w, 0))

    @property
    def log_normalizer(self) -> torch.Tensor:
        """Alias of :meth:`get_log_normalizer`."""
        return self.get_log_normalizer()
