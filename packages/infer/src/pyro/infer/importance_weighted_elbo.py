"""The base class of the ELBOs built on importance weights of several guide draws
(:class:`~pyro.infer.RenyiELBO`, :class:`~pyro.infer.ReweightedWakeSleep`,
:class:`~pyro.infer.TraceTailAdaptive_ELBO`)."""
from __future__ import annotations

from collections.abc import Callable

import torch

from .elbo import ELBO
from .enum import get_importance_trace
from .importance import ParticleLogProbs, particle_log_probs


class ImportanceWeightedELBO(ELBO):
    """An :class:`~pyro.infer.elbo.ELBO` whose estimator needs the model and guide log
    densities of each of ``num_particles`` guide draws (see :meth:`_particle_log_probs`)."""

    def _particle_log_probs(self, model: Callable, guide: Callable, args: tuple,
                            kwargs: dict, *, detach: bool = False,
                            path_derivative: bool = False) -> ParticleLogProbs:
        """:class:`~pyro.infer.importance.ParticleLogProbs` of ``num_particles`` guide
        draws, in one vectorized run when ``vectorize_particles`` else a Python loop.

        :param bool detach: detach the guide's values (no gradient through the draws).
        :param bool path_derivative: see :func:`~pyro.infer.importance.particle_log_probs`.
        """
        n = self.num_particles
        if self.vectorize_particles and n > 1:
            if self.max_plate_nesting == float("inf"):
                self._guess_max_plate_nesting(model, guide, args, kwargs)
            model_trace, guide_trace = get_importance_trace(
                "flat", self.max_plate_nesting, self._vectorized_num_particles(model),
                self._vectorized_num_particles(guide), args, kwargs, detach=detach,
            )
            return particle_log_probs(model_trace, guide_trace, self._particle_dim, n,
                                      path_derivative=path_derivative)
        parts = []
        for _ in range(n):
            model_trace, guide_trace = get_importance_trace(
                "flat", self.max_plate_nesting, model, guide, args, kwargs, detach=detach)
            parts.append(particle_log_probs(model_trace, guide_trace,
                                            path_derivative=path_derivative))
        return ParticleLogProbs(
            torch.cat([p.model_log_prob for p in parts]),
            torch.cat([p.guide_log_prob for p in parts]),
            _concat_scores([p.score_function for p in parts], parts[0].model_log_prob),
        )


def _concat_scores(scores: list[torch.Tensor | float], like: torch.Tensor
                   ) -> torch.Tensor | float:
    # a particle without non-reparametrized sites has the score 0.0
    if not any(isinstance(s, torch.Tensor) for s in scores):
        return 0.0
    zero = torch.zeros_like(like)
    return torch.cat([s if isinstance(s, torch.Tensor) else zero for s in scores])
