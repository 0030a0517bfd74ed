"""The No-U-Turn Sampler for a batch of chains, with multinomial sampling and the
generalized U-turn criterion.

Each transition grows every chain's trajectory by doubling, in a random direction each
time, until it makes a U-turn, a leapfrog step diverges, or ``max_tree_depth`` doublings
were made. The next state is drawn from the trajectory with probability proportional to
``exp(-H)``: within a subtree by multinomial (uniform progressive) sampling, across
doublings by biased progressive sampling that favours the new subtree. The U-turn check
is the generalized criterion on summed momenta, applied to every merged subtree and
across the boundary of the two halves of each merge, as Stan does. Chains advance in
lockstep; a chain whose trajectory has ended is masked out while the others go on.

**References**

- M. D. Hoffman, A. Gelman (2014), "The No-U-Turn Sampler: Adaptively Setting Path
  Lengths in Hamiltonian Monte Carlo", JMLR 15, arXiv:1111.4246.
- M. Betancourt (2017), "A Conceptual Introduction to Hamiltonian Monte Carlo",
  arXiv:1701.02434 (multinomial sampling, appendix A.3; generalized no-U-turn
  criterion, section 4.2 and appendix A.4.2).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from pyro.ops.integrator import leapfrog

from ..initialization import init_to_uniform
from .fast_potential import PotentialEnergy
from .hmc import HMC

__all__ = ["NUTS"]

_LOG2 = math.log(2.0)


class _Tree:
    """A subtree in integration order, for ``C`` chains advancing together: its first
    momentum / velocity, its last state ``end = (z, r, v, grad)``, summed momenta
    ``rho`` (tensors with a leading chain dim), and per chain (lists of ``C`` Python
    numbers) its log weight, whether it may be extended (no U-turn, no divergence) and
    its proposal: row ``c`` of the state ``prop[c] = (z, pe, grad)``."""

    __slots__ = ("beg_r", "beg_v", "end", "rho", "log_w", "prop", "valid")

    def __init__(self, beg_r, beg_v, end, rho, log_w, prop, valid) -> None:
        self.beg_r, self.beg_v, self.end, self.rho = beg_r, beg_v, end, rho
        self.log_w, self.prop, self.valid = log_w, prop, valid


class _Masks:
    """Per-chain flags as ``(C, 1)`` tensors (masks, and signs +-1 of the integration
    direction), kept by pattern: a pattern recurs often and building a small tensor from
    a list costs more than a dictionary look-up."""

    _LIMIT = 4096  # patterns kept (2**C of them for C chains)

    def __init__(self, like: torch.Tensor) -> None:
        self._like = like
        self._cache: dict[tuple, torch.Tensor] = {}

    def _get(self, key: tuple, values: list, dtype: torch.dtype) -> torch.Tensor:
        out = self._cache.get(key)
        if out is None:
            out = torch.tensor(values, dtype=dtype, device=self._like.device).unsqueeze(-1)
            if len(self._cache) < self._LIMIT:
                self._cache[key] = out
        return out

    def mask(self, flags: list[bool]) -> torch.Tensor:
        return self._get((True, *flags), flags, torch.bool)

    def sign(self, flags: list[bool]) -> torch.Tensor:
        """``+1`` where ``flags`` else ``-1``, in the dtype of the chains' state."""
        return self._get((False, *flags), [1.0 if f else -1.0 for f in flags],
                         self._like.dtype)

    def choose(self, flags: list[bool], a: tuple, b: tuple) -> tuple:
        """Per chain: the ``(C, D)`` tensors of ``a`` where ``flags`` else those of ``b``;
        no tensor operation when every chain chooses alike."""
        if all(flags):
            return a
        if not any(flags):
            return b
        mask = self.mask(flags)
        return tuple(torch.where(mask, x, y) for x, y in zip(a, b))


def no_uturn(first: _Tree, second: _Tree, rho: torch.Tensor, single: bool) -> list[bool]:
    """Per chain, whether ``first`` followed by ``second`` passes the generalized no-U-turn
    criterion (Betancourt 2017, A.4.2): both end velocities of a span have a positive dot
    product with the span's summed momenta (``rho`` for the whole span). Unless both are
    single states, so must the spans across the boundary: ``first`` plus the first state
    of ``second``, and the last state of ``first`` plus ``second``. The dot products come
    from one batched product (by linearity, ``v . (a + b) = v . a + v . b``)."""
    c = rho.size(0)
    if single:
        lo, hi = torch.linalg.vecdot(torch.stack((first.beg_v, second.end[2])), rho).tolist()
        return [lo[i] > 0 and hi[i] > 0 for i in range(c)]
    vel = torch.stack((first.beg_v, first.end[2], second.beg_v, second.end[2]), -2)
    mom = torch.stack((first.rho, second.rho, first.end[1], second.beg_r), -1)
    out = []
    # row c: velocity i . momentum sum j at 4 i + j
    for g in torch.bmm(vel, mom).view(c, 16).tolist():
        b1, b2, _, b4, _, e2, e3, _, s1, _, _, s4, l1, l2, l3, _ = g
        out.append(b1 + b2 > 0 and l1 + l2 > 0  # the whole span
                   and b1 + b4 > 0 and s1 + s4 > 0  # first + second's first state
                   and e2 + e3 > 0 and l2 + l3 > 0)  # first's last state + second
    return out


def _gather(per_chain: list[tuple]) -> tuple:
    """Row ``c`` of the tensors of ``per_chain[c]`` for every chain ``c``, stacked; no
    tensor operation when every chain holds the same source."""
    first = per_chain[0]
    if all(p is first for p in per_chain):
        return first
    return tuple(torch.stack([p[i][c] for c, p in enumerate(per_chain)])
                 for i in range(len(first)))


def _log_add_exp(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a))


def hamiltonian(pe: torch.Tensor, r: torch.Tensor, v: torch.Tensor) -> list[float]:
    """``U + r.v / 2`` of each chain as Python floats (summed in double precision), NaN
    read as +inf (a point outside the support)."""
    kinetic = torch.linalg.vecdot(r, v).tolist()
    out = [p + 0.5 * k for p, k in zip(pe.tolist(), kinetic)]
    return [math.inf if h != h else h for h in out]


class _LogUniforms:
    """``log u``, ``u ~ Uniform(0, 1)``, as Python floats from a buffer of torch draws (so
    ``pyro.set_rng_seed`` fixes them): the tree builder's decisions cost no tensor op."""

    def __init__(self) -> None:
        self._buf: list[float] = []

    def __call__(self, n: int) -> list[float]:
        buf = self._buf
        if len(buf) < n:
            buf[:0] = torch.rand(max(256, n), dtype=torch.float64).log().tolist()
        return [buf.pop() for _ in range(n)]


class NUTS(HMC):
    """No-U-Turn Sampler kernel (Hoffman & Gelman 2014) with multinomial trajectory
    sampling and the generalized U-turn criterion (Betancourt 2017), for one chain or a
    batch of chains. Arguments as :class:`~pyro.infer.mcmc.hmc.HMC`, plus:

    :param bool use_multinomial_sampling: draw the next state from the whole trajectory
        in proportion to ``exp(-H)`` (Betancourt 2017). When False, slice sampling
        (Hoffman & Gelman 2014) is used: states with ``H <= H_0 - log(u)`` are eligible.
    :param int max_tree_depth: maximum number of trajectory doublings (at most
        ``2**max_tree_depth - 1`` leapfrog steps per transition). Transitions that reach
        it are counted (``diagnostics()["tree depth saturation"]``), as Stan does.

    **References** Hoffman & Gelman (2014), arXiv:1111.4246; Betancourt (2017),
    arXiv:1701.02434.
    """

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None,
                 step_size: float = 1, adapt_step_size: bool = True,
                 adapt_mass_matrix: bool = True, full_mass: bool | list = False,
                 use_multinomial_sampling: bool = True, transforms: dict | None = None,
                 max_plate_nesting: int | None = None, jit_compile: bool | None = None,
                 jit_options: dict | None = None, ignore_jit_warnings: bool = False,
                 target_accept_prob: float = 0.8, max_tree_depth: int = 10,
                 init_strategy: Callable = init_to_uniform, *,
                 min_stepsize: float = 1e-10, max_stepsize: float = 1e10) -> None:
        super().__init__(model, potential_fn, step_size, adapt_step_size=adapt_step_size,
                         adapt_mass_matrix=adapt_mass_matrix, full_mass=full_mass,
                         transforms=transforms, max_plate_nesting=max_plate_nesting,
                         jit_compile=jit_compile, jit_options=jit_options,
                         ignore_jit_warnings=ignore_jit_warnings,
                         target_accept_prob=target_accept_prob, init_strategy=init_strategy,
                         min_stepsize=min_stepsize, max_stepsize=max_stepsize)
        if int(max_tree_depth) < 1:
            raise ValueError(f"max_tree_depth must be at least 1, got {max_tree_depth}")
        self.use_multinomial_sampling = use_multinomial_sampling
        self.max_tree_depth = int(max_tree_depth)

    def _reset_state(self) -> None:
        super()._reset_state()
        # per chain over the sampling transitions: tree depths, leapfrog steps, saturated
        self._depth_sum: torch.Tensor | None = None
        self._steps_sum: torch.Tensor | None = None
        self._saturated: torch.Tensor | None = None
        self._tree_count = 0
        self._log_u = _LogUniforms()
        self._masks: _Masks | None = None
        self._velocity_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
        self._energy_fn: PotentialEnergy | None = None

    # ------------------------------------------------------------- the tree
    # Chains advance in lockstep through the same tree shape (each in its own direction);
    # the per-chain decisions are Python numbers: for a handful of chains a few float
    # operations cost less than one small-tensor operation.

    def _leaf(self, z, r, grad, eps, live: list[bool]) -> _Tree:
        energy, velocity = self._energy_fn, self._velocity_fn
        if energy is None or velocity is None:  # set by _transition
            raise RuntimeError("NUTS: a tree is built inside a transition only")
        z, r, pe, grad = leapfrog(z, r, grad, eps, energy, velocity)
        v = velocity(r)
        delta = [h - h0 for h, h0 in zip(hamiltonian(pe, r, v), self._h0)]
        valid = [d <= self._max_sliced_energy for d in delta]  # else divergent
        stats = self._stats
        for c, d in enumerate(delta):
            if live[c]:  # only chains still building count
                stats[0][c] += math.exp(min(-d, 0.0))
                stats[1][c] += 1
                stats[2][c] |= not valid[c]
        if self.use_multinomial_sampling:
            log_w = [-d for d in delta]
        else:  # slice sampling: weight 1 inside the slice, 0 outside
            log_w = [0.0 if -d >= s else -math.inf for d, s in zip(delta, self._log_slice)]
        return _Tree(r, v, (z, r, v, grad), r, log_w, [(z, pe, grad)] * len(live), valid)

    def _build(self, z, r, grad, eps, depth: int, live: list[bool]) -> _Tree:
        if depth == 0:
            return self._leaf(z, r, grad, eps, live)
        first = self._build(z, r, grad, eps, depth - 1, live)
        live2 = [a and b for a, b in zip(live, first.valid)]
        if not any(live2):
            return first
        end = first.end
        second = self._build(end[0], end[1], end[3], eps, depth - 1, live2)
        log_w = [_log_add_exp(a, b) for a, b in zip(first.log_w, second.log_w)]
        # multinomial (uniform progressive) sampling inside a subtree
        take = [u < b - w for u, b, w in zip(self._log_u(len(live)), second.log_w, log_w)]
        prop = [b if t else a for t, a, b in zip(take, first.prop, second.prop)]
        rho = first.rho + second.rho
        valid = [a and b for a, b in zip(first.valid, second.valid)]
        if any(valid):
            ok = no_uturn(first, second, rho, depth == 1)
            valid = [a and b for a, b in zip(valid, ok)]
        return _Tree(first.beg_r, first.beg_v, second.end, rho, log_w, prop, valid)

    def _transition(self, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z0, pe0, g0, self._energy_fn = self._chain_state()
        c = z0.size(0)
        r0 = self.mass_matrix_adapter.sample_momentum(z0)
        # the mass matrix changes between transitions only
        self._velocity_fn = self.mass_matrix_adapter.velocity_fn()
        v0 = self._velocity_fn(r0)
        self._h0 = hamiltonian(pe0, r0, v0)
        # per chain: summed acceptance probabilities, leapfrog steps, divergent
        self._stats = ([0.0] * c, [0] * c, [False] * c)
        if not self.use_multinomial_sampling:
            # slice variable u ~ Uniform(0, exp(-H0)); log u relative to -H0
            self._log_slice = self._log_u(c)
        eps = float(step) if c == 1 else step.unsqueeze(-1)
        masks = self._masks
        if masks is None or masks._like.dtype != z0.dtype:
            masks = self._masks = _Masks(z0)
        left = right = (z0, r0, v0, g0)
        rho = r0
        prop = [(z0, pe0, g0)] * c  # per chain: the proposal is row c of prop[c]
        log_w, depth, active = [0.0] * c, [0] * c, [True] * c
        for d in range(self.max_tree_depth):
            forward = [u < -_LOG2 for u in self._log_u(c)]
            edge = masks.choose(forward, right, left)
            e = (eps if forward[0] else -eps) if c == 1 else eps * masks.sign(forward)
            tree = self._build(edge[0], edge[1], edge[3], e, d, active)
            depth = [k + a for k, a in zip(depth, active)]
            valid = [a and b for a, b in zip(active, tree.valid)]
            # biased progressive sampling across doublings (Betancourt 2017, A.3.2)
            take = [ok and u < b - w
                    for ok, u, b, w in zip(valid, self._log_u(c), tree.log_w, log_w)]
            prop = [b if t else a for t, a, b in zip(take, prop, tree.prop)]
            log_w = [_log_add_exp(w, b) if ok else w
                     for ok, w, b in zip(valid, log_w, tree.log_w)]
            if not any(valid):
                break
            # the old trajectory oriented along this doubling's direction, then the tree
            beg = masks.choose(forward, left, right)
            old = _Tree(beg[1], beg[2], edge, rho, None, None, None)
            new_rho = rho + tree.rho
            right = masks.choose([a and f for a, f in zip(valid, forward)], tree.end, right)
            left = masks.choose([a and not f for a, f in zip(valid, forward)], tree.end, left)
            (rho,) = masks.choose(valid, (new_rho,), (rho,))
            ok = no_uturn(old, tree, new_rho, d == 0)
            active = [a and b for a, b in zip(valid, ok)]
            if not any(active):
                break
        self._z, self._pe, self._grad = _gather(prop)
        acc_sum, n_steps, diverging = self._stats
        steps = torch.tensor(n_steps, device=z0.device)
        accept = pe0.new_tensor(acc_sum) / steps.clamp(min=1)
        self._record_tree(torch.tensor(depth, device=z0.device), steps)
        return accept, torch.tensor(diverging, device=z0.device)

    def _record_tree(self, depth: torch.Tensor, steps: torch.Tensor) -> None:
        """Per chain: tree depth and leapfrog steps of one transition (sampling only)."""
        if self._depth_sum is None or self._steps_sum is None or self._saturated is None:
            self._depth_sum = torch.zeros_like(steps)
            self._steps_sum = torch.zeros_like(steps)
            self._saturated = torch.zeros_like(steps)
        if self._t < self._warmup_steps:
            return
        self._depth_sum += depth
        self._steps_sum += steps
        self._saturated += depth >= self.max_tree_depth
        self._tree_count += 1

    # ------------------------------------------------------------ reporting

    def chain_diagnostics(self, chain: int) -> dict[str, Any]:
        """As :meth:`HMC.chain_diagnostics`, plus the mean tree depth, mean leapfrog steps
        per transition and the number of sampling transitions that reached
        ``max_tree_depth`` (Stan's "tree depth saturation")."""
        out = super().chain_diagnostics(chain)
        n = max(self._tree_count, 1)
        depth, steps, saturated = self._depth_sum, self._steps_sum, self._saturated
        if depth is not None and steps is not None and saturated is not None:
            out["mean tree depth"] = float(depth[chain]) / n
            out["mean num steps"] = float(steps[chain]) / n
            out["tree depth saturation"] = int(saturated[chain])
        return out
