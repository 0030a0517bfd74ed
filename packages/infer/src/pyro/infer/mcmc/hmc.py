"""Hamiltonian Monte Carlo for a batch of chains (one chain is a batch of one).

The state of ``C`` chains is the flat unconstrained position ``z`` shaped ``(C, D)``
with its potential energy ``(C,)`` and gradient ``(C, D)``. Every chain has its own step
size and mass matrix, adapted during warmup by :class:`~.adaptation.WarmupAdapter`; the
one integrator is :func:`pyro.ops.integrator.leapfrog`. :class:`~.nuts.NUTS` replaces the
fixed-length trajectory by its tree builder and shares everything else.

**References**

- S. Duane, A. D. Kennedy, B. J. Pendleton, D. Roweth (1987), "Hybrid Monte Carlo",
  Physics Letters B 195(2).
- R. M. Neal (2011), "MCMC using Hamiltonian dynamics", Handbook of MCMC, chapter 5.
- M. D. Hoffman, A. Gelman (2014), "The No-U-Turn Sampler", JMLR 15 (algorithm 4: the
  step-size heuristic; algorithm 5: dual averaging).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from pyro.ops.integrator import leapfrog

from ..initialization import init_to_uniform
from .adaptation import BlockMassMatrix, WarmupAdapter
from .fast_potential import PotentialEnergy
from .mcmc_kernel import MCMCKernel
from .potential import DictPotential, ModelPotential
from .util import make_dict_potential, setup_potential, unconstraining_transforms

__all__ = ["HMC"]


def _check_full_mass(full_mass) -> None:
    if isinstance(full_mass, bool):
        return
    if not isinstance(full_mass, (list, tuple)) or not all(
            isinstance(g, (list, tuple)) and all(isinstance(n, str) for n in g)
            for g in full_mass):
        raise ValueError(f"full_mass must be True, False or a list of tuples of site names "
                         f"(a dense block per group), got {full_mass!r}")
    seen: set[str] = set()
    for group in full_mass:
        overlap = seen.intersection(group)
        if overlap:
            raise ValueError(f"full_mass: site(s) {sorted(overlap)} appear in two groups")
        seen.update(group)


class HMC(MCMCKernel):
    """Hamiltonian Monte Carlo kernel.

    Each transition draws momenta ``r ~ N(0, M)``, integrates Hamilton's equations with
    ``num_steps = max(1, int(trajectory_length / step_size))`` leapfrog steps on the
    unconstrained latent space and accepts the end point with probability
    ``min(1, exp(H_0 - H_L))``. During warmup the step size is tuned by dual averaging
    towards ``target_accept_prob`` and the mass matrix is estimated on Stan's windows.

    :param callable model: a Pyro model (or give ``potential_fn``). Discrete sites marked
        for enumeration are summed out of the potential.
    :param callable potential_fn: ``potential_fn(params: dict) -> tensor``, the potential
        energy of unconstrained ``params``; needs ``initial_params``.
    :param float step_size: the initial leapfrog step size.
    :param float trajectory_length: length of each trajectory (default ``2 pi``, or
        ``step_size * num_steps`` when ``num_steps`` is given).
    :param int num_steps: leapfrog steps per trajectory at the initial step size.
    :param bool adapt_step_size: tune the step size during warmup.
    :param bool adapt_mass_matrix: estimate the mass matrix during warmup.
    :param full_mass: ``False`` (diagonal mass matrix), ``True`` (dense) or a list of
        tuples of site names: a dense block for each group, diagonal for the other sites.
    :param dict transforms: site name -> transform from the site's constrained support to
        unconstrained space (default ``biject_to(site.support).inv``).
    :param int max_plate_nesting: number of plate dims of the model (found from the model
        when omitted; enumeration and ``chain_method="vectorized"`` use it).
    :param jit_compile: ``None`` (default): evaluate the potential with a traced plan of
        the model's log density when the plan reproduces the model (checked), else run the
        model; ``True``: as Pyro, trace with ``torch.jit.trace`` (warns if impossible);
        ``False``: always run the model.
    :param dict jit_options: keyword arguments of ``torch.jit.trace``.
    :param bool ignore_jit_warnings: silence tracer warnings.
    :param float target_accept_prob: target of the step-size adaptation.
    :param callable init_strategy: initialization strategy (site -> constrained value).
    :param float min_stepsize: lower bound of the step-size search.
    :param float max_stepsize: upper bound of the step-size search.
    :raises ValueError: for inconsistent arguments.

    **References** Duane et al. (1987); Neal (2011); Hoffman & Gelman (2014).
    """

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None,
                 step_size: float = 1, trajectory_length: float | None = None,
                 num_steps: int | None = None, adapt_step_size: bool = True,
                 adapt_mass_matrix: bool = True, full_mass: bool | list = False,
                 transforms: dict | None = None, max_plate_nesting: int | None = None,
                 jit_compile: bool | None = None, jit_options: dict | None = None,
                 ignore_jit_warnings: bool = False, target_accept_prob: float = 0.8,
                 init_strategy: Callable = init_to_uniform, *,
                 min_stepsize: float = 1e-10, max_stepsize: float = 1e10) -> None:
        if (model is None) == (potential_fn is None):
            raise ValueError("HMC/NUTS need exactly one of model= or potential_fn=")
        _check_full_mass(full_mass)
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
        self._adapter = WarmupAdapter(step_size, adapt_step_size, target_accept_prob,
                                      adapt_mass_matrix, full_mass)
        self._user_initial_params: dict | None = None
        self._cache: dict = {}
        self._reset_state()

    def _reset_state(self) -> None:
        self._potential: ModelPotential | DictPotential | None = None
        self._energy: PotentialEnergy | None = None
        self._z: torch.Tensor | None = None
        self._pe: torch.Tensor | None = None
        self._grad: torch.Tensor | None = None
        self._num_chains = 1
        self._last_params: dict | None = None
        self._prototype_trace: Any = None
        self._warmup_steps = 0
        self._t = 0
        self._chain_divergences: list[list[int]] = []
        # per chain: summed acceptance statistics of the sampling phase / of the stage
        self._accept_sum: torch.Tensor | None = None
        # per chain: sampling-phase transitions that moved the chain (Pyro's _accept_cnt)
        self._moved: torch.Tensor | None = None
        self._accept_count = 0
        self._phase_accept: torch.Tensor | None = None
        self._phase_count = 0

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in ("_potential", "_energy", "_z", "_pe", "_grad", "_last_params",
                    "_prototype_trace"):
            state[key] = None
        state["_cache"] = {}
        return state

    # ------------------------------------------------------------- properties

    @property
    def step_size(self) -> float | torch.Tensor:
        """The current step size (a float for one chain, a ``(C,)`` tensor for several)."""
        s = self._adapter.step_size
        if isinstance(s, torch.Tensor) and s.numel() == 1:
            return float(s)
        return s

    @step_size.setter
    def step_size(self, value) -> None:
        if self._z is not None:
            self._adapter.step_size = torch.ones(self._num_chains, dtype=torch.float64,
                                                 device=self._z.device) * value
        else:
            self._adapter.step_size = value
            self._initial_step_size = float(value)

    @property
    def mass_matrix_adapter(self) -> BlockMassMatrix:
        """The mass matrix (:class:`~.adaptation.BlockMassMatrix` or
        :class:`~.adaptation.ArrowheadMassMatrix`); assign before running to change it."""
        return self._adapter.mass_matrix_adapter

    @mass_matrix_adapter.setter
    def mass_matrix_adapter(self, value: BlockMassMatrix) -> None:
        self._adapter.mass_matrix_adapter = value

    @property
    def inverse_mass_matrix(self):
        """The inverse mass matrix: ``(D,)`` / ``(D, D)`` for one chain with one block,
        else the dict site-name tuple -> block of :attr:`mass_matrix_adapter`."""
        inv = self.mass_matrix_adapter.inverse_mass_matrix
        if len(inv) == 1 and self._num_chains == 1:
            value = next(iter(inv.values()))
            if isinstance(value, torch.Tensor):
                return value[0]
        return inv

    @property
    def num_steps(self) -> int:
        step = self.step_size
        step = float(step.min()) if isinstance(step, torch.Tensor) else float(step)
        return max(1, int(self.trajectory_length / step))

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
        return unconstraining_transforms(self._potential)

    @property
    def potential(self):
        """The model's potential (after :meth:`setup`): layout (``pack`` / ``unpack``) and
        ``potential(z)`` of one flat point."""
        return self._potential

    def clear_cache(self) -> None:
        """Forget the traced potential kept between runs (e.g. after changing the model's
        data in place)."""
        self._cache = {}

    # ------------------------------------------------------------------ setup

    def setup(self, warmup_steps: int, *args: Any, **kwargs: Any) -> None:
        """Prepare one chain of ``model(*args, **kwargs)`` with ``warmup_steps`` warmup
        iterations (initial point, potential, adaptation)."""
        self.setup_chains(warmup_steps, args, kwargs, num_chains=1)

    def setup_chains(self, warmup_steps: int, args: tuple, kwargs: dict, num_chains: int,
                     initial_params: dict | None = None, vectorize: Callable | None = None
                     ) -> None:
        """Set up ``num_chains`` chains that advance together, as one batch (what
        ``MCMC(..., chain_method="vectorized")`` runs).

        :param dict initial_params: unconstrained starting values with a leading chain dim
            when ``num_chains > 1``; None: the kernel's own ``initial_params`` (the same
            for every chain) if set, else the ``init_strategy``.
        :param callable vectorize: ``(one-chain potential, prototype trace, z0 (C, D)) ->
            (C, D) -> (C,)``, the batched potential of the model (needed for a model and
            ``num_chains > 1``).
        """
        user_params = self._user_initial_params
        if initial_params is None and user_params is not None:
            initial_params = user_params if num_chains == 1 else {
                k: torch.as_tensor(v).expand((num_chains,) + torch.as_tensor(v).shape)
                for k, v in user_params.items()}
        self._reset_state()
        self._user_initial_params = user_params
        self._warmup_steps = int(warmup_steps)
        self._num_chains = c = int(num_chains)
        if self.model is not None:
            z0, energy = self._setup_model(self.model, args, kwargs, c, initial_params,
                                           vectorize)
        elif self.potential_fn is not None:
            z0, energy = self._setup_potential_fn(self.potential_fn, c, initial_params)
        else:  # the constructor rules this out
            raise ValueError("HMC/NUTS need exactly one of model= or potential_fn=")
        z = self._z = z0.detach()
        self._energy = energy
        self._pe, self._grad = energy(z)
        self._chain_divergences = [[] for _ in range(c)]
        self._accept_sum = z.new_zeros(c)
        self._moved = torch.zeros(c, dtype=torch.long, device=z.device)
        self._phase_accept = z.new_zeros(c)
        self._last_params = self._unpack(z)
        find = self._find_reasonable_step_size if self.adapt_step_size else None
        self._adapter.initial_step_size = self._initial_step_size
        self._adapter.configure(self._warmup_steps, mass_matrix_shape=self._mass_shape(),
                                find_reasonable_step_size_fn=find, layout=self._layout(),
                                initial=z)

    def _setup_model(self, model: Callable, args: tuple, kwargs: dict, c: int,
                     initial_params: dict | None, vectorize: Callable | None
                     ) -> tuple[torch.Tensor, PotentialEnergy]:
        inits: list[torch.Tensor] = []
        first: ModelPotential | None = None
        for chain in range(c):
            init = initial_params
            if init is not None and c > 1:
                init = {k: torch.as_tensor(v)[chain] for k, v in init.items()}
            potential, z0, trace = setup_potential(
                model, args, kwargs, self._user_transforms, self.init_strategy, init,
                self.max_plate_nesting)
            if first is None:
                first = potential
                self._prototype_trace = trace
            inits.append(z0)
        if first is None:
            raise ValueError(f"num_chains must be at least 1, got {c}")
        self._potential = first
        z0 = torch.stack(inits)
        sites = [(s.name, s.shape) for s in first.sites]
        if self._cache_hit(c, args, kwargs, sites):
            return z0, self._cache["energy"]
        if c == 1:
            single = first.potential

            def fn(z: torch.Tensor) -> torch.Tensor:
                return single(z.reshape(-1)).reshape(1)
        elif vectorize is None:
            raise ValueError("HMC/NUTS: several chains of a model advance together only "
                             "with a vectorized potential (MCMC(..., chain_method="
                             "'vectorized') supplies it)")
        else:
            fn = vectorize(first, self._prototype_trace, z0)
        energy = PotentialEnergy(fn, self.jit_compile, self.jit_options,
                                 self.ignore_jit_warnings)
        # the plan holds the data as constants: reuse it only for the very same objects
        self._cache = {"energy": energy, "num_chains": c, "args": args,
                       "kwargs": dict(kwargs), "sites": sites}
        return z0, energy

    def _cache_hit(self, c: int, args: tuple, kwargs: dict, sites: list) -> bool:
        cache = self._cache
        if not cache or cache["num_chains"] != c or cache["sites"] != sites:
            return False
        old_args, old_kwargs = cache["args"], cache["kwargs"]
        return (len(old_args) == len(args) and all(a is b for a, b in zip(old_args, args))
                and old_kwargs.keys() == kwargs.keys()
                and all(old_kwargs[k] is kwargs[k] for k in kwargs))

    def _setup_potential_fn(self, potential_fn: Callable, c: int, initial_params: dict | None
                            ) -> tuple[torch.Tensor, PotentialEnergy]:
        params = initial_params or {}  # empty: make_dict_potential says what to pass
        example = params
        if c > 1:
            example = {k: torch.as_tensor(v)[0] for k, v in params.items()}
        potential = make_dict_potential(potential_fn, example)
        self._potential = potential
        batch = torch.Size([c]) if c > 1 else torch.Size()
        z0 = potential.pack({k: torch.as_tensor(v) for k, v in params.items()}, batch)
        single = potential.potential

        def fn(z: torch.Tensor) -> torch.Tensor:
            return torch.stack([single(z[i]).reshape(()) for i in range(z.size(0))])

        return z0.reshape(c, -1), PotentialEnergy(fn, jit_compile=False)

    def _require_potential(self) -> ModelPotential | DictPotential:
        if self._potential is None:
            raise RuntimeError(f"{type(self).__name__}: call setup(warmup_steps, *args, "
                               f"**kwargs) first (MCMC does)")
        return self._potential

    def _layout(self) -> dict[str, slice]:
        out, start = {}, 0
        for s in self._require_potential().sites:
            out[s.name] = slice(start, start + s.size)
            start += s.size
        return out

    def _mass_shape(self) -> dict[tuple, tuple]:
        sites = self._require_potential().sites
        sizes = {s.name: s.size for s in sites}
        names = [s.name for s in sites]
        if self.full_mass is True:
            return {tuple(names): (sum(sizes.values()),) * 2}
        shape: dict[tuple, tuple] = {}
        grouped: set[str] = set()
        for group in (self.full_mass or []):
            missing = [n for n in group if n not in sizes]
            if missing:
                raise ValueError(f"full_mass names site(s) {missing} that are not continuous "
                                 f"latent sites of the model; latent sites: {names}")
            n = sum(sizes[k] for k in group)
            shape[tuple(group)] = (n, n)
            grouped.update(group)
        rest = tuple(k for k in names if k not in grouped)
        if rest:
            shape[rest] = (sum(sizes[k] for k in rest),)
        return shape

    def _unpack(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return self._require_potential().unpack(z[0] if self._num_chains == 1 else z)

    def cleanup(self) -> None:
        self._last_params = None

    # ------------------------------------------------------------ the dynamics

    def _chain_state(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, PotentialEnergy]:
        """The chains' ``(z, potential energy, grad)`` and the potential, once set up."""
        z, pe, grad, energy = self._z, self._pe, self._grad, self._energy
        if z is None or pe is None or grad is None or energy is None:
            raise RuntimeError(f"{type(self).__name__}: call setup(warmup_steps, *args, "
                               f"**kwargs) first (MCMC does)")
        return z, pe, grad, energy

    def _velocity(self, r: torch.Tensor) -> torch.Tensor:
        return self.mass_matrix_adapter.kinetic_grad(r)

    def _hamiltonian(self, pe: torch.Tensor, r: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``U + r.v / 2`` per chain, NaN read as +inf (a point outside the support)."""
        return torch.nan_to_num(torch.add(pe, torch.linalg.vecdot(r, v), alpha=0.5), nan=math.inf)

    def _find_reasonable_step_size(self, step: torch.Tensor) -> torch.Tensor:
        """Double or halve each chain's step size until the acceptance probability of one
        leapfrog step from the current point crosses 0.8 (Hoffman & Gelman 2014, algorithm
        4, with Stan's threshold)."""
        z, pe, grad, energy = self._chain_state()
        log_target = math.log(0.8)
        mm = self.mass_matrix_adapter

        def log_accept(eps: torch.Tensor) -> torch.Tensor:
            r = mm.sample_momentum(z)
            h0 = self._hamiltonian(pe, r, self._velocity(r))
            _, r1, pe1, _ = leapfrog(z, r, grad, eps.to(z.dtype).unsqueeze(-1), energy,
                                     self._velocity)
            d = h0 - self._hamiltonian(pe1, r1, self._velocity(r1))
            return torch.nan_to_num(d, nan=-math.inf)

        step = step.clone()
        up = log_accept(step) > log_target
        active = torch.ones_like(up)
        for _ in range(100):
            new = torch.where(up, step * 2, step / 2)
            active = active & (new >= self.min_stepsize) & (new <= self.max_stepsize)
            if not bool(active.any()):
                break
            step = torch.where(active, new, step)
            active = active & ((log_accept(step) > log_target) == up).to(active.device)
            if not bool(active.any()):
                break
        return step

    def _transition(self, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One HMC proposal per chain; returns (acceptance probabilities, divergent)."""
        z, pe, grad, energy = self._chain_state()
        r = self.mass_matrix_adapter.sample_momentum(z)
        h0 = self._hamiltonian(pe, r, self._velocity(r))
        steps = (self.trajectory_length / eps).floor().clamp(min=1).long()
        lo, hi = int(steps.min()), int(steps.max())
        e = eps.unsqueeze(-1)
        if lo == hi:
            z1, r1, pe1, g1 = leapfrog(z, r, grad, e, energy, self._velocity, lo)
        else:  # chains with fewer steps stop early: masked updates
            z1, r1, pe1, g1 = z, r, pe, grad
            for k in range(hi):
                zn, rn, pn, gn = leapfrog(z1, r1, g1, e, energy, self._velocity)
                go = k < steps
                g2 = go.unsqueeze(-1)
                z1, r1 = torch.where(g2, zn, z1), torch.where(g2, rn, r1)
                pe1, g1 = torch.where(go, pn, pe1), torch.where(g2, gn, g1)
        delta = self._hamiltonian(pe1, r1, self._velocity(r1)) - h0
        delta = torch.nan_to_num(delta, nan=math.inf)
        accept_prob = torch.exp(-delta.clamp(min=0.0))
        take = torch.rand_like(accept_prob) < accept_prob
        t2 = take.unsqueeze(-1)
        self._z = torch.where(t2, z1, z)
        self._pe = torch.where(take, pe1, pe)
        self._grad = torch.where(t2, g1, grad)
        return accept_prob, delta > self._max_sliced_energy

    # ----------------------------------------------------------------- sample

    def sample(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One transition of every chain; ``params`` maps site names to unconstrained
        values (with a leading chain dim when several chains run together)."""
        z, _, _, energy = self._chain_state()
        if params is not self._last_params:
            batch = torch.Size([self._num_chains]) if self._num_chains > 1 else torch.Size()
            packed = self._require_potential().pack(params, batch)
            z = self._z = packed.reshape(self._num_chains, -1).detach()
            self._pe, self._grad = energy(z)
        step = torch.as_tensor(self._adapter.step_size, dtype=z.dtype, device=z.device)
        before = z
        accept_prob, diverging = self._transition(step)
        z, _, grad, _ = self._chain_state()
        accept_sum, phase_accept = self._accept_sum, self._phase_accept
        if accept_sum is None or phase_accept is None:  # set with the state
            raise RuntimeError(f"{type(self).__name__}: call setup() first")
        t = self._t
        if t < self._warmup_steps:
            self._adapter.step(t, z, accept_prob, grad)
        else:
            if t == self._warmup_steps:
                phase_accept.zero_()
                self._phase_count = 0
            if bool(diverging.any()):
                for i in diverging.nonzero().flatten().tolist():
                    self._chain_divergences[i].append(t - self._warmup_steps)
            if self._moved is not None:
                self._moved += (z != before).any(-1)
            accept_sum += accept_prob
            self._accept_count += 1
        phase_accept += accept_prob
        self._phase_count += 1
        self._t = t + 1
        last = self._last_params = self._unpack(z)
        return last

    # -------------------------------------------- Pyro's per-iteration state
    # MCMC(hook_fn=...) programs written for Pyro read these attributes of the kernel
    # (e.g. ``float(kernel._potential_energy_last)`` to log the energy trace). With several
    # chains advancing together each holds one entry per chain.

    def _per_chain(self, value: torch.Tensor) -> torch.Tensor:
        return value[0] if self._num_chains == 1 else value

    @property
    def _potential_energy_last(self) -> torch.Tensor | None:
        """Potential energy at the current point: a 0-dim tensor (``(C,)`` for C chains);
        None before :meth:`setup`."""
        return None if self._pe is None else self._per_chain(self._pe)

    @property
    def _z_last(self) -> dict[str, torch.Tensor] | None:
        """The current point: site name -> unconstrained value."""
        return self._last_params

    @property
    def _z_grads_last(self) -> dict[str, torch.Tensor] | None:
        """Gradient of the potential energy at the current point, by site."""
        return None if self._grad is None else self._unpack(self._grad)

    @property
    def _mean_accept_prob(self) -> float | torch.Tensor:
        """Mean acceptance probability of the current stage (warmup or sampling), as the
        progress bar shows it."""
        if self._phase_accept is None:
            return 0.0
        mean = self._phase_accept / max(self._phase_count, 1)
        return float(mean[0]) if self._num_chains == 1 else mean

    @property
    def _accept_cnt(self) -> int | torch.Tensor:
        """Number of sampling-phase transitions that moved the chain (accepted proposals)."""
        if self._moved is None:
            return 0
        return int(self._moved[0]) if self._num_chains == 1 else self._moved.clone()

    @property
    def _divergences(self) -> list[int] | list[list[int]]:
        """Sampling iterations whose trajectory diverged (a list per chain for several)."""
        chains = self._chain_divergences
        return chains[0] if len(chains) == 1 else chains

    # ------------------------------------------------------------ reporting

    def logging(self) -> dict[str, Any]:
        """Progress bar fields: step size and mean acceptance probability of the stage."""
        step = self._adapter.step_size
        steps = step.tolist() if isinstance(step, torch.Tensor) else [float(step)]
        mean = float(self._phase_accept.mean()) / max(self._phase_count, 1) \
            if self._phase_accept is not None else math.nan
        size = (f"{steps[0]:.2e}" if len(steps) == 1
                else f"{min(steps):.2e}..{max(steps):.2e}")
        return {"step size": size, "acc. prob": f"{mean:.3f}"}

    def chain_diagnostics(self, chain: int) -> dict[str, Any]:
        """Divergent transitions (sampling-iteration indices) and the mean acceptance
        probability of chain ``chain`` of the batch."""
        accept_sum = self._accept_sum
        rate = (float(accept_sum[chain]) / self._accept_count
                if self._accept_count and accept_sum is not None else math.nan)
        return {"divergences": list(self._chain_divergences[chain]), "acceptance rate": rate}

    def diagnostics(self) -> dict[str, Any]:
        return self.chain_diagnostics(0)
