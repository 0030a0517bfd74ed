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
    ``(z, pe, grad)`` and whether it may be extended (no U-turn, no divergence)."""

    __slots__ = ("beg_r", "beg_v", "end", "rho", "log_w", "prop", "valid")

    def __init__(self, beg_r, beg_v, end, rho, log_w, prop, valid) -> None:
        self.beg_r, self.beg_v, self.end, self.rho = beg_r, beg_v, end, rho
        self.log_w, self.prop, self.valid = log_w, prop, valid


def _pick(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per chain: ``a`` where ``mask`` else ``b`` (``mask`` (C,), tensors (C,) / (C, D))."""
    return torch.where(mask.unsqueeze(-1) if a.dim() > 1 else mask, a, b)


def _no_uturn(v_minus: torch.Tensor, v_plus: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """Generalized criterion: both end velocities point along the summed momenta."""
    return torch.minimum(torch.linalg.vecdot(v_plus, rho), torch.linalg.vecdot(v_minus, rho)) > 0


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

    # ------------------------------------------------------------- the tree

    def _leaf(self, z, r, grad, eps, h0, live) -> _Tree:
        z, r, pe, grad = leapfrog(z, r, grad, eps, self._energy, self._velocity)
        v = self._velocity(r)
        delta = self._hamiltonian(pe, r, v) - h0
        accept = torch.exp(torch.clamp(-delta, max=0.0))
        diverging = delta > self._max_sliced_energy
        if self._batched:  # only chains still building count
            self._acc_sum = self._acc_sum + accept * live
            self._n_steps = self._n_steps + live
            self._diverging = self._diverging | (live & diverging)
        else:
            self._acc_sum = self._acc_sum + accept
            self._n_steps = self._n_steps + 1
            self._diverging = self._diverging | diverging
        if self.use_multinomial_sampling:
            log_w = -delta
        else:  # slice sampling: weight 1 inside the slice, 0 outside
            log_w = torch.where(-delta >= self._log_slice, 0.0, -math.inf)
        return _Tree(r, v, (z, r, v, grad), r, log_w, (z, pe, grad), ~diverging)

    @staticmethod
    def _criteria(first: _Tree, second: _Tree, rho: torch.Tensor, single: bool
                  ) -> torch.Tensor:
        """No U-turn over ``first`` then ``second`` (in integration order) and, unless both
        are single states, across the boundary between them."""
        ok = _no_uturn(first.beg_v, second.end[2], rho)
        if single:
            return ok
        return (ok & _no_uturn(first.beg_v, second.beg_v, first.rho + second.beg_r)
                & _no_uturn(first.end[2], second.end[2], second.rho + first.end[1]))

    def _build(self, z, r, grad, eps, depth: int, h0, live) -> _Tree:
        if depth == 0:
            return self._leaf(z, r, grad, eps, h0, live)
        first = self._build(z, r, grad, eps, depth - 1, h0, live)
        live2 = live & first.valid
        if not bool(live2.any()):
            return first
        end = first.end
        second = self._build(end[0], end[1], end[3], eps, depth - 1, h0, live2)
        log_w = torch.logaddexp(first.log_w, second.log_w)
        # multinomial (uniform progressive) sampling inside a subtree
        take = torch.rand_like(log_w) < torch.exp(second.log_w - log_w)
        if self._batched:
            prop = tuple(_pick(take, b, a) for a, b in zip(first.prop, second.prop))
        else:
            prop = second.prop if bool(take) else first.prop
        rho = first.rho + second.rho
        valid = first.valid & second.valid & self._criteria(first, second, rho, depth == 1)
        return _Tree(first.beg_r, first.beg_v, second.end, rho, log_w, prop, valid)

    def _transition(self, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z0, pe0, g0 = self._z, self._pe, self._grad
        c = z0.size(0)
        self._batched = c > 1
        r0 = self.mass_matrix_adapter.sample_momentum(z0)
        v0 = self._velocity(r0)
        h0 = self._hamiltonian(pe0, r0, v0)
        self._acc_sum = torch.zeros_like(h0)
        self._n_steps = torch.zeros(c, dtype=torch.long, device=z0.device)
        self._diverging = torch.zeros(c, dtype=torch.bool, device=z0.device)
        if not self.use_multinomial_sampling:
            # slice variable u ~ Uniform(0, exp(-H0)); log u relative to -H0
            self._log_slice = torch.log1p(-torch.rand_like(h0))
        left = right = (z0, r0, v0, g0)
        rho = r0
        log_w = torch.zeros_like(h0)
        prop = (z0, pe0, g0)
        active = torch.ones(c, dtype=torch.bool, device=z0.device)
        depth = torch.zeros(c, dtype=torch.long, device=z0.device)
        eps = step.unsqueeze(-1)
        for d in range(self.max_tree_depth):
            forward = torch.rand_like(h0) < 0.5
            if c == 1:  # one chain: plain Python branches, fewer tensor ops
                fwd = bool(forward)
                edge = right if fwd else left
                e = eps if fwd else -eps
            else:
                edge = tuple(_pick(forward, a, b) for a, b in zip(right, left))
                e = torch.where(forward.unsqueeze(-1), eps, -eps)
            tree = self._build(edge[0], edge[1], edge[3], e, d, h0, active)
            depth = depth + active
            valid = active & tree.valid
            # biased progressive sampling across doublings (Betancourt 2017, A.3.2)
            take = valid & (torch.rand_like(h0) < torch.exp(tree.log_w - log_w))
            if c == 1:
                if bool(take):
                    prop = tree.prop
            else:
                prop = tuple(_pick(take, b, a) for a, b in zip(prop, tree.prop))
            log_w = torch.where(valid, torch.logaddexp(log_w, tree.log_w), log_w)
            # the old trajectory oriented along this doubling's direction, then the tree
            if c == 1:
                beg = left if fwd else right
            else:
                beg = tuple(_pick(forward, a, b) for a, b in zip(left, right))
            old = _Tree(beg[1], beg[2], edge, rho, None, None, None)
            new_rho = rho + tree.rho
            ok = self._criteria(old, tree, new_rho, d == 0)
            if c == 1:
                if not bool(valid):
                    break
                if fwd:
                    right = tree.end
                else:
                    left = tree.end
                rho = new_rho
                active = ok
                if not bool(ok):
                    break
                continue
            right = tuple(_pick(valid & forward, b, a) for a, b in zip(right, tree.end))
            left = tuple(_pick(valid & ~forward, b, a) for a, b in zip(left, tree.end))
            rho = _pick(valid, new_rho, rho)
            active = valid & ok
            if not bool(active.any()):
                break
        self._z, self._pe, self._grad = prop
        self._record_tree(depth)
        accept = self._acc_sum / self._n_steps.clamp(min=1)
        return accept, self._diverging

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
