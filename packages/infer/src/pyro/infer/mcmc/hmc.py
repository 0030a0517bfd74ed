"""Hamiltonian Monte Carlo with a fixed trajectory length, warmup adaptation of the step
size (dual averaging) and of a diagonal or dense mass matrix.

**References**

- S. Duane, A. D. Kennedy, B. J. Pendleton, D. Roweth (1987), "Hybrid Monte Carlo",
  Physics Letters B 195(2).
- R. M. Neal (2011), "MCMC using Hamiltonian dynamics", Handbook of Markov Chain Monte
  Carlo, chapter 5.
- M. D. Hoffman, A. Gelman (2014), "The No-U-Turn Sampler", JMLR 15 (algorithms 4 and 5:
  the step-size heuristic and dual averaging).
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import torch

from ..initialization import init_to_uniform
from .adaptation import WarmupAdapter
from .integrator import EuclideanMetric, velocity_verlet
from .mcmc_kernel import MCMCKernel
from .util import _constrained_to_unconstrained, make_dict_potential, setup_potential

__all__ = ["HMC"]


class HMC(MCMCKernel):
    """Hamiltonian Monte Carlo kernel.

    Each transition draws a momentum ``r ~ N(0, M)``, integrates Hamilton's equations
    with ``num_steps = max(1, int(trajectory_length / step_size))`` leapfrog steps on the
    unconstrained latent space and accepts the end point with probability
    ``min(1, exp(H_0 - H_L))``. During warmup the step size is tuned by dual averaging
    towards ``target_accept_prob`` and the mass matrix is estimated on Stan's windows.

    :param callable model: a Pyro model with continuous latent sites (or give
        ``potential_fn``).
    :param callable potential_fn: ``potential_fn(params: dict) -> tensor``, the potential
        energy of unconstrained ``params``; needs ``initial_params``.
    :param float step_size: the initial leapfrog step size.
    :param float trajectory_length: length of each trajectory (default ``2 pi``, or
        ``step_size * num_steps`` when ``num_steps`` is given).
    :param int num_steps: leapfrog steps per trajectory at the initial step size.
    :param bool adapt_step_size: tune the step size during warmup.
    :param bool adapt_mass_matrix: estimate the mass matrix during warmup.
    :param bool full_mass: a dense mass matrix instead of a diagonal one.
    :param dict transforms: site name -> transform from the site's constrained support to
        unconstrained space (default ``biject_to(site.support).inv``).
    :param int max_plate_nesting: number of plate dims the model uses; only
        ``chain_method="vectorized"`` needs it, and infers it from the model when omitted
        (discrete latent sites cannot be enumerated by MCMC here, so nothing else does).
    :param bool jit_compile: trace the potential energy with ``torch.jit.trace``.
    :param float target_accept_prob: target of the step-size adaptation.
    :param callable init_strategy: initialization strategy (site -> constrained value).
    :raises ValueError: for inconsistent arguments.

    **References** Duane et al. (1987); Neal (2011); Hoffman & Gelman (2014).
    """

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None,
                 step_size: float = 1, trajectory_length: float | None = None,
                 num_steps: int | None = None, adapt_step_size: bool = True,
                 adapt_mass_matrix: bool = True, full_mass: bool = False,
                 transforms: dict | None = None, max_plate_nesting: int | None = None,
                 jit_compile: bool = False, jit_options: dict | None = None,
                 ignore_jit_warnings: bool = False, target_accept_prob: float = 0.8,
                 init_strategy: Callable = init_to_uniform, *,
                 min_stepsize: float = 1e-10, max_stepsize: float = 1e10) -> None:
        if (model is None) == (potential_fn is None):
            raise ValueError("HMC/NUTS need exactly one of model= or potential_fn=")
        if not isinstance(full_mass, bool):
            raise ValueError(f"full_mass must be True or False, got {full_mass!r}; block-"
                             f"structured mass matrices are not supported, use full_mass=True")
        if not step_size > 0:
            raise ValueError(f"step_size must be positive, got {step_size}")
        if num_steps is not None and int(num_steps) < 1:
            raise ValueError(f"num_steps must be a positive integer, got {num_steps}")
        if not 0 < target_accept_prob < 1:
            raise ValueError(f"target_accept_prob must be in (0, 1), got {target_accept_prob}")
        self.model = model
        self.potential_fn = potential_fn
        if trajectory_length is not None:
            self.trajectory_length = float(trajectory_length)
        elif num_steps is not None:
            self.trajectory_length = float(step_size) * int(num_steps)
        else:
            self.trajectory_length = 2 * math.pi
        self._initial_step_size = float(step_size)
        self.adapt_step_size = adapt_step_size
        self.adapt_mass_matrix = adapt_mass_matrix
        self.full_mass = full_mass
        self._user_transforms = transforms
        self.max_plate_nesting = max_plate_nesting
        self.jit_compile = jit_compile
        self.jit_options = jit_options
        self.ignore_jit_warnings = ignore_jit_warnings
        self.target_accept_prob = target_accept_prob
        self.init_strategy = init_strategy
        self.min_stepsize = min_stepsize
        self.max_stepsize = max_stepsize
        self._max_sliced_energy = 1000.0
        self._adapter = WarmupAdapter(step_size, adapt_step_size, adapt_mass_matrix,
                                      dense_mass=full_mass,
                                      target_accept_prob=target_accept_prob)
        self._user_initial_params: dict | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self._potential = None
        self._z = None
        self._pe = math.nan
        self._grad = None
        self._metric: EuclideanMetric | None = None
        self._metric_source = None
        self._last_params: dict | None = None
        self._prototype_trace = None
        self._warmup_steps = 0
        self._t = 0
        self._rng = random.Random()
        self._divergences: list[int] = []
        self._accept_sum = 0.0
        self._accept_count = 0
        self._phase_accept_sum = 0.0
        self._phase_count = 0

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # per-chain state is rebuilt by setup(); only the configuration travels
        for key in ("_potential", "_z", "_grad", "_metric", "_metric_source", "_last_params",
                    "_prototype_trace"):
            state[key] = None
        return state

    # ------------------------------------------------------------- properties

    @property
    def step_size(self) -> float:
        return self._adapter.step_size

    @step_size.setter
    def step_size(self, value: float) -> None:
        self._adapter.step_size = float(value)

    @property
    def inverse_mass_matrix(self) -> torch.Tensor | None:
        """The inverse mass matrix: ``(D,)`` (diagonal) or ``(D, D)`` (``full_mass``)."""
        return self._adapter.inverse_mass_matrix

    @property
    def num_steps(self) -> int:
        return max(1, int(self.trajectory_length / self.step_size))

    @property
    def initial_params(self) -> dict | None:
        if self._last_params is not None and self._t == 0:
            return self._last_params
        return self._user_initial_params

    @initial_params.setter
    def initial_params(self, params: dict | None) -> None:
        self._user_initial_params = params

    @property
    def transforms(self) -> dict:
        if self._potential is None or self.model is None:
            return dict(self._user_transforms or {})
        return _constrained_to_unconstrained(self._potential)

    @property
    def potential(self):
        """The flat potential (after :meth:`setup`): ``potential(z) -> (energy, grad)``."""
        return self._potential

    # ------------------------------------------------------------------ setup

    def setup(self, warmup_steps: int, *args: Any, **kwargs: Any) -> None:
        """Trace the model at a starting point and reset the adaptation for a new chain."""
        user_params = self._user_initial_params
        self._reset_state()
        self._warmup_steps = int(warmup_steps)
        if self.model is not None:
            potential, z0, trace = setup_potential(
                self.model, args, kwargs, self._user_transforms, self.jit_compile,
                self.jit_options, self.ignore_jit_warnings, self.init_strategy, user_params)
            self._prototype_trace = trace
        else:
            potential = make_dict_potential(self.potential_fn, user_params)
            z0 = potential.pack({k: torch.as_tensor(v) for k, v in user_params.items()})
        self._potential = potential
        self._z = z0.detach()
        self._pe, self._grad = potential(self._z)
        self._last_params = potential.unpack(self._z)
        self._rng = random.Random(int(torch.randint(0, 2**62, ()).item()))
        self._adapter.step_size = self._initial_step_size
        find = self._find_reasonable_step_size if self.adapt_step_size else None
        self._adapter.configure(self._warmup_steps, self._z, find_step_size=find)
        self._sync_metric()

    def cleanup(self) -> None:
        self._last_params = None

    def _sync_metric(self) -> None:
        source = self._adapter.inverse_mass_matrix
        if source is not self._metric_source:
            if self._metric is None:
                self._metric = EuclideanMetric(source)
            else:
                self._metric.set(source)
            self._metric_source = source

    def _find_reasonable_step_size(self, step_size: float) -> float:
        """Double or halve the step size until the acceptance probability of one leapfrog
        step from the current point crosses 0.8 (Hoffman & Gelman 2014, algorithm 4, with
        Stan's threshold)."""
        self._sync_metric()
        metric, z, pe, grad = self._metric, self._z, self._pe, self._grad
        log_target = math.log(0.8)

        def log_accept(eps: float) -> float:
            r = metric.sample_momentum(z)
            h0 = pe + metric.kinetic_energy(r)
            _, r1, pe1, _ = velocity_verlet(z, r, grad, eps, self._potential, metric, 1)
            delta = h0 - (pe1 + metric.kinetic_energy(r1))
            return delta if delta == delta else -math.inf

        direction = 1 if log_accept(step_size) > log_target else -1
        for _ in range(100):
            new = step_size * (2.0 if direction == 1 else 0.5)
            if not self.min_stepsize <= new <= self.max_stepsize:
                break
            step_size = new
            d = log_accept(step_size)
            if (d > log_target) != (direction == 1):
                break
        return step_size

    # ----------------------------------------------------------------- sample

    def _transition(self) -> tuple[float, bool]:
        """One HMC proposal from the current state; returns (accept prob, divergent)."""
        metric = self._metric
        z, pe, grad = self._z, self._pe, self._grad
        r = metric.sample_momentum(z)
        h0 = pe + metric.kinetic_energy(r)
        step_size = self.step_size
        z1, r1, pe1, g1 = velocity_verlet(z, r, grad, step_size, self._potential, metric,
                                          self.num_steps)
        h1 = pe1 + metric.kinetic_energy(r1)
        delta = h1 - h0 if h1 == h1 else math.inf
        accept_prob = 1.0 if delta <= 0 else math.exp(-delta)
        if self._rng.random() < accept_prob:
            self._z, self._pe, self._grad = z1, pe1, g1
        return accept_prob, delta > self._max_sliced_energy

    def sample(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One transition; ``params`` maps site names to unconstrained values."""
        if params is not self._last_params:
            self._z = self._potential.pack(params).detach()
            self._pe, self._grad = self._potential(self._z)
        self._sync_metric()
        accept_prob, diverging = self._transition()
        t = self._t
        if t < self._warmup_steps:
            self._adapter.step(t, self._z, accept_prob)
        else:
            if t == self._warmup_steps:
                self._phase_accept_sum, self._phase_count = 0.0, 0
            if diverging:
                self._divergences.append(t - self._warmup_steps)
            self._accept_sum += accept_prob
            self._accept_count += 1
        self._phase_accept_sum += accept_prob
        self._phase_count += 1
        self._t = t + 1
        self._last_params = self._potential.unpack(self._z)
        return self._last_params

    # ------------------------------------------------------------ reporting

    def logging(self) -> dict[str, Any]:
        mean = self._phase_accept_sum / max(self._phase_count, 1)
        return {"step size": f"{self.step_size:.2e}", "acc. prob": f"{mean:.3f}"}

    def diagnostics(self) -> dict[str, Any]:
        rate = self._accept_sum / self._accept_count if self._accept_count else math.nan
        return {"divergences": list(self._divergences), "acceptance rate": rate}
