"""``SMCFilter``: sequential Monte Carlo (particle filtering) for state-space models."""
from __future__ import annotations

import math
from typing import Any

import torch

import pyro
from pyro import poutine
from pyro.distributions import Empirical
from pyro.poutine.trace_messenger import TraceMessenger

from .importance import particle_log_probs

__all__ = ["SMCFailed", "SMCFilter", "SMCState"]


class SMCFailed(ValueError):
    """Raised when :class:`SMCFilter` finds no particle with positive weight (every log
    weight is ``-inf`` or NaN): the data are impossible under every proposed state."""


class SMCState(dict):
    """The vectorized state of an :class:`SMCFilter`: a dict of tensors whose leftmost
    dim indexes the ``num_particles`` particles (what the model's ``init``/``step``
    store, e.g. ``state["z"] = pyro.sample(...)``). The filter reindexes every value
    when it resamples.

    :param int num_particles: the number of particles.
    :raises ValueError: when a value is not a tensor or its leftmost dim is neither
        ``num_particles`` nor 1 (a size-1 dim is expanded).
    """

    def __init__(self, num_particles: int) -> None:
        if not isinstance(num_particles, int) or num_particles < 1:
            raise ValueError(f"SMCState: num_particles must be a positive int, got "
                             f"{num_particles!r}")
        super().__init__()
        self._num_particles = num_particles
        self._log_weights = torch.zeros(num_particles)

    def __setitem__(self, key: Any, value: torch.Tensor) -> None:
        n = self._num_particles
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"SMCState[{key!r}]: values must be tensors with a leading "
                             f"particle dim of size {n}, got {type(value).__name__}")
        if value.dim() == 0 or value.size(0) not in (1, n):
            raise ValueError(
                f"SMCState[{key!r}]: expected a leading particle dim of size {n}, got shape "
                f"{tuple(value.shape)}; sample state inside the filter's particle plate "
                f"(max_plate_nesting must count the model's plates)"
            )
        if value.size(0) == 1 and n > 1:
            value = value.expand((n,) + value.shape[1:])
        super().__setitem__(key, value)

    @property
    def num_particles(self) -> int:
        """The number of particles (the size of every value's leftmost dim)."""
        return self._num_particles

    @property
    def log_weights(self) -> torch.Tensor:
        """The particles' unnormalized log weights, shape ``(num_particles,)``."""
        return self._log_weights

    def add_log_weights(self, increment: torch.Tensor) -> None:
        """Multiply each particle's weight by ``exp(increment)`` (shape
        ``(num_particles,)``; detached)."""
        self._log_weights = (self._log_weights.to(increment) + increment).detach()

    def resample(self, index: torch.Tensor) -> None:
        """Keep the particles ``index`` (shape ``(num_particles,)``), equally weighted
        with the mean weight, so the log evidence estimate carries over."""
        for key, value in list(self.items()):
            dict.__setitem__(self, key, value.index_select(0, index.to(value.device)))
        lw = self._log_weights
        mean = lw.logsumexp(0) - math.log(self._num_particles)
        self._log_weights = torch.full_like(lw, float(mean))

    def copy(self) -> SMCState:
        """A shallow copy (the same tensors and weights): what the guide gets, so that
        its writes do not reach the model's state."""
        new = SMCState(self._num_particles)
        new._log_weights = self._log_weights
        dict.update(new, self)
        return new


def _systematic_indices(log_weights: torch.Tensor) -> torch.Tensor:
    """Systematic resampling: one uniform offset, ``n`` evenly spaced points on the
    weights' CDF (lower variance than multinomial draws)."""
    n = log_weights.numel()
    probs = torch.softmax(log_weights, 0)
    cdf = probs.cumsum(0)
    cdf[-1] = 1.0
    u = (torch.rand((), dtype=probs.dtype, device=probs.device)
         + torch.arange(n, dtype=probs.dtype, device=probs.device)) / n
    return torch.searchsorted(cdf, u).clamp(max=n - 1)


class SMCFilter:
    """Sequential Monte Carlo [1] for state-space models written as two objects with
    ``init(state, *args, **kwargs)`` and ``step(state, *args, **kwargs)`` methods: the
    ``model`` (transition and observation sites) and the ``guide`` (proposal for the
    latent sites; ``None`` proposes from the model's own transitions, the bootstrap
    filter).

    Each call runs the guide, then the model replayed against its draws, for all
    particles at once inside a plate ``"particles"`` at dim ``-(max_plate_nesting + 1)``;
    every particle's log weight grows by ``log p - log q`` of the new sites. When the
    effective sample size falls below ``ess_threshold * num_particles`` the particles are
    resampled (systematically) and their weights reset. The guide reads a copy of the
    state; the model writes it.

    Example::

        smc = SMCFilter(model, guide, num_particles=1000, max_plate_nesting=0)
        smc.init(initial=z0)
        for y in ys:
            smc.step(y)
        z = smc.get_empirical()["z"]   # filtering distribution p(z_T | y_1:T)

    :param model: object with ``init`` and ``step`` (state in ``state[...]``).
    :param guide: object with ``init`` and ``step`` proposing the model's latent sites.
    :param int num_particles: the number of particles.
    :param int max_plate_nesting: the number of plates inside ``init``/``step``.
    :param float ess_threshold: resample when ``ESS < ess_threshold * num_particles``
        (in ``(0, 1]``; default 0.5).
    :raises SMCFailed: from :meth:`init`/:meth:`step` when every particle has zero weight.

    **References**

    [1] A. Doucet, A. M. Johansen, "A Tutorial on Particle Filtering and Smoothing:
        Fifteen years later", 2009.
    """

    def __init__(self, model: Any, guide: Any, num_particles: int, max_plate_nesting: int,
                 *, ess_threshold: float = 0.5) -> None:
        if not 0 < ess_threshold <= 1:
            raise ValueError(f"SMCFilter: ess_threshold must be in (0, 1], got {ess_threshold}")
        for what, obj in (("model", model), ("guide", guide)):
            if obj is not None and not (hasattr(obj, "init") and hasattr(obj, "step")):
                raise ValueError(f"SMCFilter: the {what} must have init(state, ...) and "
                                 f"step(state, ...) methods")
        self.model = model
        self.guide = guide
        self.num_particles = num_particles
        self.max_plate_nesting = max_plate_nesting
        self.ess_threshold = ess_threshold
        self.state = SMCState(num_particles)
        self._steps = 0

    def init(self, *args, **kwargs) -> None:
        """Reset the state and weights and run ``model.init`` (proposed by ``guide.init``)."""
        self.state = SMCState(self.num_particles)
        self._steps = 0
        self._advance("init", args, kwargs)

    def step(self, *args, **kwargs) -> None:
        """Advance every particle one step: ``model.step`` proposed by ``guide.step``."""
        self._steps += 1
        self._advance("step", args, kwargs)

    def get_empirical(self) -> dict[Any, Empirical]:
        """The weighted particles as ``{state key: Empirical(values, log_weights)}``."""
        lw = self.state.log_weights
        return {key: Empirical(value, lw) for key, value in self.state.items()}

    # ---------------------------------------------------------------- internals

    def _particle_plate(self):
        return pyro.plate("particles", self.num_particles, dim=-1 - self.max_plate_nesting)

    def _advance(self, method: str, args, kwargs) -> None:
        dim = -1 - self.max_plate_nesting
        with poutine.block(), self._particle_plate():
            if self.guide is None:
                # bootstrap: the model proposes its own latent sites, which then cancel
                with TraceMessenger() as tr:
                    getattr(self.model, method)(self.state, *args, **kwargs)
                model_trace = tr.trace
                guide_trace = _latent_part(model_trace)
            else:
                with TraceMessenger() as tr:
                    getattr(self.guide, method)(self.state.copy(), *args, **kwargs)
                guide_trace = tr.trace
                with TraceMessenger() as tr, poutine.replay(trace=guide_trace):
                    getattr(self.model, method)(self.state, *args, **kwargs)
                model_trace = tr.trace
        increment = particle_log_probs(model_trace, guide_trace, dim, self.num_particles)
        self.state.add_log_weights(increment.log_weights)
        self._maybe_resample(method)

    def _maybe_resample(self, method: str) -> None:
        lw = self.state.log_weights
        finite = torch.isfinite(lw) | (lw == float("inf"))
        if not bool(finite.any()) or bool(torch.isnan(lw).any()):
            where = "init" if method == "init" else f"step {self._steps}"
            raise SMCFailed(
                f"SMCFilter: every particle has zero weight (or a NaN weight) after {where}: "
                f"the observations are impossible under all proposed states; use a guide "
                f"that proposes states compatible with the data, or more particles"
            )
        ess = torch.exp(-torch.logsumexp(2 * (lw - lw.logsumexp(0)), 0))
        if ess < self.ess_threshold * self.num_particles:
            self.state.resample(_systematic_indices(lw))


def _latent_part(trace):
    """A copy of ``trace`` without its observed sites (the proposal of the bootstrap
    filter, which is the model's own transition)."""
    latent = trace.copy()
    for name, site in trace.nodes.items():
        if site["type"] == "sample" and site["is_observed"]:
            latent.remove_node(name)
    return latent
