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
from .hmc import HMC

__all__ = ["NUTS"]


class _Tree:
    """A subtree in integration order: its first momentum / velocity, its last state
    ``end = (z, r, v, grad)``, summed momenta ``rho``, log weight, proposal
    ``(z, pe, grad)`` and whether it may be extended (no U-turn, no divergence).
    Per-chain scalars (``log_w``, ``valid``) are Python numbers for one chain and
    ``(C,)`` tensors for a batch (see :class:`_OneChain` / :class:`_Batch`)."""

    __slots__ = ("beg_r", "beg_v", "end", "rho", "log_w", "prop", "valid")

    def __init__(self, beg_r, beg_v, end, rho, log_w, prop, valid) -> None:
        self.beg_r, self.beg_v, self.end, self.rho = beg_r, beg_v, end, rho
        self.log_w, self.prop, self.valid = log_w, prop, valid


def _pick(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per chain: ``a`` where ``mask`` else ``b`` (``mask`` (C,), tensors (C,) / (C, D))."""
    return torch.where(mask.unsqueeze(-1) if a.dim() > 1 else mask, a, b)


def _uturn_dots(first: _Tree, second: _Tree, rho: torch.Tensor, single: bool
                ) -> torch.Tensor:
    """The dot products of the generalized U-turn criterion (Betancourt 2017, A.4.2) over
    ``first`` then ``second`` in one batched product, shaped ``(k, 2, C)``: pair ``i``
    holds the two end velocities of one span dotted with its summed momenta. ``k = 1``
    (the whole span) when both are single states, else ``k = 3`` (also the spans across
    the boundary: ``first`` plus the first state of ``second``, and the last state of
    ``first`` plus ``second``)."""
    if single:
        vel = torch.stack((first.beg_v, second.end[2]))
        return torch.linalg.vecdot(vel, rho).unsqueeze(0)
    vel = torch.stack((first.beg_v, second.end[2], first.beg_v, second.beg_v,
                       first.end[2], second.end[2]))
    rho_a = first.rho + second.beg_r
    rho_b = second.rho + first.end[1]
    rhos = torch.stack((rho, rho, rho_a, rho_a, rho_b, rho_b))
    return torch.linalg.vecdot(vel, rhos).view(3, 2, -1)


def _log_add_exp(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a))


class _OneChain:
    """Per-chain scalars of one chain as Python floats / bools: the tree builder's
    bookkeeping costs no tensor operations; uniforms come from a buffer of torch draws
    (so ``pyro.set_rng_seed`` fixes them)."""

    batched = False

    def __init__(self, like: torch.Tensor) -> None:
        self._log_u: list[float] = []
        self._like = like

    def log_uniform(self) -> float:
        """``log u``, ``u ~ Uniform(0, 1)``."""
        if not self._log_u:
            self._log_u = torch.rand(256, dtype=torch.float64).log().tolist()
        return self._log_u.pop()

    def hamiltonian(self, pe: torch.Tensor, r: torch.Tensor, v: torch.Tensor) -> float:
        h = pe.item() + 0.5 * torch.linalg.vecdot(r, v).item()
        return math.inf if math.isnan(h) else h

    @staticmethod
    def accept_prob(delta: float) -> float:
        return math.exp(min(-delta, 0.0))

    log_add_exp = staticmethod(_log_add_exp)

    def take(self, log_ratio: float) -> bool:
        """A draw of ``u < exp(log_ratio)``."""
        return self.log_uniform() < log_ratio

    @staticmethod
    def select(mask: bool, a: tuple, b: tuple) -> tuple:
        return a if mask else b

    @staticmethod
    def no_uturn(first: _Tree, second: _Tree, rho: torch.Tensor, single: bool) -> bool:
        dots = _uturn_dots(first, second, rho, single).flatten().tolist()
        return all(min(dots[i], dots[i + 1]) > 0 for i in range(0, len(dots), 2))

    @staticmethod
    def any(mask: bool) -> bool:
        return mask


class _Batch:
    """Per-chain scalars of ``C`` chains as ``(C,)`` tensors."""

    batched = True

    def __init__(self, like: torch.Tensor) -> None:
        self._like = like  # (C,)

    def log_uniform(self) -> torch.Tensor:
        return torch.log(torch.rand_like(self._like))

    def hamiltonian(self, pe: torch.Tensor, r: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``U + r.v / 2`` per chain, NaN read as +inf (a point outside the support)."""
        return torch.nan_to_num(torch.add(pe, torch.linalg.vecdot(r, v), alpha=0.5),
                                nan=math.inf)

    @staticmethod
    def accept_prob(delta: torch.Tensor) -> torch.Tensor:
        return torch.exp(torch.clamp(-delta, max=0.0))

    log_add_exp = staticmethod(torch.logaddexp)

    def take(self, log_ratio: torch.Tensor) -> torch.Tensor:
        return self.log_uniform() < log_ratio

    @staticmethod
    def select(mask: torch.Tensor, a: tuple, b: tuple) -> tuple:
        return tuple(_pick(mask, x, y) for x, y in zip(a, b))

    @staticmethod
    def no_uturn(first: _Tree, second: _Tree, rho: torch.Tensor, single: bool
                 ) -> torch.Tensor:
        return (_uturn_dots(first, second, rho, single).amin(1) > 0).all(0)

    @staticmethod
    def any(mask: torch.Tensor) -> bool:
        return bool(mask.any())


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
        self._depth_sum = None
        self._steps_sum = None
        self._saturated = None
        self._tree_count = 0
        self._ops = None

    # ------------------------------------------------------------- the tree

    def _leaf(self, z, r, grad, eps, h0, live) -> _Tree:
        ops = self._ops
        z, r, pe, grad = leapfrog(z, r, grad, eps, self._energy, self._velocity)
        v = self._velocity(r)
        delta = ops.hamiltonian(pe, r, v) - h0
        accept = ops.accept_prob(delta)
        diverging = delta > self._max_sliced_energy
        if ops.batched:  # only chains still building count
            self._acc_sum = self._acc_sum + accept * live
            self._n_steps = self._n_steps + live
            self._diverging = self._diverging | (live & diverging)
        else:
            self._acc_sum += accept
            self._n_steps += 1
            self._diverging = self._diverging or diverging
        if self.use_multinomial_sampling:
            log_w = -delta
        elif ops.batched:  # slice sampling: weight 1 inside the slice, 0 outside
            log_w = torch.where(-delta >= self._log_slice, 0.0, -math.inf)
        else:
            log_w = 0.0 if -delta >= self._log_slice else -math.inf
        return _Tree(r, v, (z, r, v, grad), r, log_w, (z, pe, grad), ~diverging
                     if ops.batched else not diverging)

    def _build(self, z, r, grad, eps, depth: int, h0, live) -> _Tree:
        if depth == 0:
            return self._leaf(z, r, grad, eps, h0, live)
        ops = self._ops
        first = self._build(z, r, grad, eps, depth - 1, h0, live)
        live2 = live & first.valid
        if not ops.any(live2):
            return first
        end = first.end
        second = self._build(end[0], end[1], end[3], eps, depth - 1, h0, live2)
        log_w = ops.log_add_exp(first.log_w, second.log_w)
        # multinomial (uniform progressive) sampling inside a subtree
        prop = ops.select(ops.take(second.log_w - log_w), second.prop, first.prop)
        rho = first.rho + second.rho
        valid = first.valid & second.valid
        if ops.any(valid):
            valid = valid & ops.no_uturn(first, second, rho, depth == 1)
        return _Tree(first.beg_r, first.beg_v, second.end, rho, log_w, prop, valid)

    def _transition(self, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z0, pe0, g0 = self._z, self._pe, self._grad
        c = z0.size(0)
        ops = self._ops = _Batch(pe0) if c > 1 else _OneChain(pe0)
        r0 = self.mass_matrix_adapter.sample_momentum(z0)
        v0 = self._velocity(r0)
        h0 = ops.hamiltonian(pe0, r0, v0)
        if ops.batched:
            self._acc_sum = torch.zeros_like(h0)
            self._n_steps = torch.zeros(c, dtype=torch.long, device=z0.device)
            self._diverging = torch.zeros(c, dtype=torch.bool, device=z0.device)
            active = torch.ones(c, dtype=torch.bool, device=z0.device)
            log_w = torch.zeros_like(h0)
            eps = step.unsqueeze(-1)
        else:
            self._acc_sum, self._n_steps, self._diverging = 0.0, 0, False
            active, log_w, eps = True, 0.0, float(step)
        if not self.use_multinomial_sampling:
            # slice variable u ~ Uniform(0, exp(-H0)); log u relative to -H0
            self._log_slice = ops.log_uniform()
        left = right = (z0, r0, v0, g0)
        rho = r0
        prop = (z0, pe0, g0)
        depth = 0 if not ops.batched else torch.zeros(c, dtype=torch.long, device=z0.device)
        for d in range(self.max_tree_depth):
            forward = ops.take(-math.log(2.0))
            edge = ops.select(forward, right, left)
            if ops.batched:
                e = torch.where(forward.unsqueeze(-1), eps, -eps)
            else:
                e = eps if forward else -eps
            tree = self._build(edge[0], edge[1], edge[3], e, d, h0, active)
            depth = depth + active
            valid = active & tree.valid
            # biased progressive sampling across doublings (Betancourt 2017, A.3.2)
            take = valid & ops.take(tree.log_w - log_w)
            prop = ops.select(take, tree.prop, prop)
            if ops.batched:
                log_w = torch.where(valid, torch.logaddexp(log_w, tree.log_w), log_w)
            elif valid:
                log_w = _log_add_exp(log_w, tree.log_w)
            # the old trajectory oriented along this doubling's direction, then the tree
            beg = ops.select(forward, left, right)
            old = _Tree(beg[1], beg[2], edge, rho, None, None, None)
            new_rho = rho + tree.rho
            if not ops.batched:
                if not valid:
                    break
                if forward:
                    right = tree.end
                else:
                    left = tree.end
                rho = new_rho
                if not ops.no_uturn(old, tree, new_rho, d == 0):
                    break
                continue
            ok = ops.no_uturn(old, tree, new_rho, d == 0)
            right = ops.select(valid & forward, tree.end, right)
            left = ops.select(valid & ~forward, tree.end, left)
            rho = _pick(valid, new_rho, rho)
            active = valid & ok
            if not bool(active.any()):
                break
        self._z, self._pe, self._grad = prop
        if ops.batched:
            accept = self._acc_sum / self._n_steps.clamp(min=1)
            diverging = self._diverging
        else:
            self._n_steps = torch.tensor([self._n_steps], device=z0.device)
            depth = torch.tensor([depth], device=z0.device)
            accept = pe0.new_tensor([self._acc_sum]) / self._n_steps.clamp(min=1)
            diverging = torch.tensor([self._diverging], device=z0.device)
        self._record_tree(depth)
        return accept, diverging

    def _record_tree(self, depth: torch.Tensor) -> None:
        if self._depth_sum is None:
            self._depth_sum = torch.zeros_like(self._n_steps)
            self._steps_sum = torch.zeros_like(self._n_steps)
            self._saturated = torch.zeros_like(self._n_steps)
        sampling = self._t >= self._warmup_steps
        if sampling:
            self._depth_sum += depth
            self._steps_sum += self._n_steps
            self._saturated += depth >= self.max_tree_depth
            self._tree_count += 1

    # ------------------------------------------------------------ reporting

    def chain_diagnostics(self, chain: int) -> dict[str, Any]:
        """As :meth:`HMC.chain_diagnostics`, plus the mean tree depth, mean leapfrog steps
        per transition and the number of sampling transitions that reached
        ``max_tree_depth`` (Stan's "tree depth saturation")."""
        out = super().chain_diagnostics(chain)
        n = max(self._tree_count, 1)
        if self._depth_sum is not None:
            out["mean tree depth"] = float(self._depth_sum[chain]) / n
            out["mean num steps"] = float(self._steps_sum[chain]) / n
            out["tree depth saturation"] = int(self._saturated[chain])
        return out
