"""Distributions sampled by rejection, with reparameterized gradients."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .forcible_has_rsample import ForcibleHasRsample
from .score_parts import ScoreParts
from .torch_distribution import TorchDistribution

__all__ = ["Rejector"]


class Rejector(ForcibleHasRsample, TorchDistribution):
    r"""Rejection-sampled distribution given an acceptance rate function.

    Draws :math:`x \sim q` (``propose``) and keeps it with probability
    :math:`a(x) = \exp(\mathrm{log\_prob\_accept}(x)) \le 1`; the accepted draws have
    density :math:`p(x) = q(x)\,a(x) / Z` with :math:`Z = \mathbb E_q[a]`, the total
    acceptance probability (``exp(log_scale)``).

    When ``propose`` is reparameterized so is this distribution, with the gradient estimator
    of Naesseth et al. [1]: :meth:`score_parts` returns the reparameterized
    ``entropy_term = log p(x)`` and the correction ``score_function = log a(x) - log Z``.

    :param propose: a proposal distribution, called as ``propose(sample_shape)`` (a
        ``sample_shape`` is supported when ``propose`` supports one).
    :param callable log_prob_accept: maps a batch of proposals to their log acceptance
        probabilities (``<= 0``).
    :param log_scale: total log probability of acceptance :math:`\log Z` (tensor of the
        batch shape, or a number).
    :param batch_shape: defaults to ``propose.batch_shape``.
    :param event_shape: defaults to ``propose.event_shape``.

    **References**

    [1] C. Naesseth, F. Ruiz, S. Linderman, D. Blei (2017), *Reparameterization gradients
    through acceptance-rejection sampling algorithms*, AISTATS.
    """

    arg_constraints: dict = {}

    def __init__(self, propose, log_prob_accept: Callable, log_scale,
                 *, batch_shape: Sequence[int] | None = None,
                 event_shape: Sequence[int] | None = None) -> None:
        self.propose = propose
        self.log_prob_accept = log_prob_accept
        self._log_scale = log_scale
        if batch_shape is None:
            batch_shape = propose.batch_shape
        if event_shape is None:
            event_shape = propose.event_shape
        super().__init__(torch.Size(batch_shape), torch.Size(event_shape))
        self._propose_log_prob = propose.log_prob

    def _unforced_has_rsample(self) -> bool:
        return bool(getattr(self.propose, "has_rsample", False))

    @property
    def support(self):
        return self.propose.support

    def rsample(self, sample_shape=torch.Size()):
        """Propose and accept until every entry of ``sample_shape + batch_shape`` has a
        draw (each round only re-proposes where a draw is still missing)."""
        sample_shape = torch.Size(sample_shape)
        x = self.propose(sample_shape) if sample_shape else self.propose()
        shape = x.shape[: x.dim() - len(self.event_shape)]
        done = torch.zeros(shape, dtype=torch.bool, device=x.device)
        result = torch.zeros_like(x)
        while True:
            log_u = torch.rand(shape, dtype=x.dtype, device=x.device).log()
            accept = (log_u < self.log_prob_accept(x)) & ~done
            if accept.any():
                mask = accept.reshape(shape + (1,) * len(self.event_shape))
                result = torch.where(mask, x, result)
                done = done | accept
            if done.all():
                return result
            x = self.propose(sample_shape) if sample_shape else self.propose()

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, value):
        return self._propose_log_prob(value) + self.log_prob_accept(value) - self._log_scale

    def score_parts(self, value) -> ScoreParts:
        log_prob = self.log_prob(value)
        if self.has_rsample:
            score_function = self.log_prob_accept(value) - self._log_scale
            return ScoreParts(log_prob=log_prob, score_function=score_function,
                              entropy_term=log_prob)
        return ScoreParts(log_prob=log_prob, score_function=log_prob, entropy_term=0)
