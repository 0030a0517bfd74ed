"""The No-U-Turn Sampler with multinomial sampling and the generalized U-turn criterion.

Each transition grows a trajectory by doubling, in a random direction each time, until
the trajectory makes a U-turn, a leapfrog step diverges, or ``max_tree_depth`` doublings
were made. The next state is drawn from the trajectory with probability proportional to
``exp(-H)``: within a subtree by multinomial (uniform progressive) sampling, across the
doublings by biased progressive sampling that favours the newest subtree. A U-turn is
detected with the generalized criterion on the summed momenta, checked over every merged
subtree and across the boundary of the two halves of each merge (as Stan does).

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

from ..initialization import init_to_uniform
from .hmc import HMC

__all__ = ["NUTS"]


def _logaddexp(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a))


class _Subtree:
    """A subtree built in one direction: its first and last states along the integration
    direction, summed momentum ``rho``, log total weight, proposal and validity."""

    __slots__ = ("beg_r", "beg_v", "end", "rho", "log_w", "proposal", "valid")

    def __init__(self, beg_r, beg_v, end, rho, log_w, proposal, valid):
        self.beg_r = beg_r
        self.beg_v = beg_v
        self.end = end  # (z, r, v, grad)
        self.rho = rho
        self.log_w = log_w
        self.proposal = proposal  # (z, potential energy, grad)
        self.valid = valid


class NUTS(HMC):
    """No-U-Turn Sampler kernel (Hoffman & Gelman 2014) with multinomial trajectory
    sampling and the generalized U-turn criterion (Betancourt 2017).

    Shares HMC's warmup adaptation (dual averaging of the step size towards
    ``target_accept_prob`` using the mean Metropolis acceptance over the trajectory,
    windowed mass matrix estimation). Arguments as :class:`~pyro.infer.mcmc.hmc.HMC`, plus:

    :param bool use_multinomial_sampling: draw the next state from the whole trajectory
        in proportion to ``exp(-H)`` (Betancourt 2017). When False, slice sampling
        (Hoffman & Gelman 2014) is used: states with ``H <= H_0 - log(u)`` are eligible.
    :param int max_tree_depth: maximum number of trajectory doublings (at most
        ``2**max_tree_depth - 1`` leapfrog steps per transition).

    **References** Hoffman & Gelman (2014), arXiv:1111.4246; Betancourt (2017),
    arXiv:1701.02434.
    """

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None,
                 step_size: float = 1, adapt_step_size: bool = True,
                 adapt_mass_matrix: bool = True, full_mass: bool = False,
                 use_multinomial_sampling: bool = True, transforms: dict | None = None,
                 max_plate_nesting: int | None = None, jit_compile: bool = False,
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
        self._reset_tree_stats()

    def _reset_tree_stats(self) -> None:
        self._tree_steps = 0
        self._tree_accept = 0.0
        self._tree_diverging = False
        self._log_slice = 0.0
        self._depth_sum = 0
        self._steps_sum = 0
        self._tree_count = 0
        self._last_depth = 0

    def _reset_state(self) -> None:
        super()._reset_state()
        self._reset_tree_stats()

    # ------------------------------------------------------------- the tree

    def _leaf(self, z, r, grad, eps: float, h0: float) -> _Subtree:
        metric = self._metric
        half = 0.5 * eps
        r = r.add(grad, alpha=-half)
        z = z.add(metric.velocity(r), alpha=eps)
        pe, grad = self._potential(z)
        r = r.add(grad, alpha=-half)
        v = metric.velocity(r)
        h = pe + 0.5 * torch.dot(r, v).item()
        delta = h - h0 if h == h else math.inf
        self._tree_steps += 1
        self._tree_accept += 1.0 if delta <= 0 else math.exp(-delta)
        diverging = delta > self._max_sliced_energy
        if diverging:
            self._tree_diverging = True
        if self.use_multinomial_sampling:
            log_w = -delta
        else:  # slice sampling: weight 1 for states inside the slice, 0 outside
            log_w = 0.0 if -delta >= self._log_slice else -math.inf
        return _Subtree(r, v, (z, r, v, grad), r, log_w, (z, pe, grad), not diverging)

    @staticmethod
    def _no_uturn(v_minus, v_plus, rho) -> bool:
        return torch.dot(v_plus, rho).item() > 0 and torch.dot(v_minus, rho).item() > 0

    def _merge_criteria(self, first: _Subtree, second: _Subtree, rho, single: bool) -> bool:
        """Generalized no-U-turn criterion over ``first`` followed by ``second`` (in the
        integration direction): over the merged trajectory and, unless both are single
        states, across the boundary between them."""
        end1 = first.end
        end2 = second.end
        if not self._no_uturn(first.beg_v, end2[2], rho):
            return False
        if single:
            return True
        return (self._no_uturn(first.beg_v, second.beg_v, first.rho + second.beg_r)
                and self._no_uturn(end1[2], end2[2], second.rho + end1[1]))

    def _build_tree(self, z, r, grad, eps: float, depth: int, h0: float) -> _Subtree:
        if depth == 0:
            return self._leaf(z, r, grad, eps, h0)
        first = self._build_tree(z, r, grad, eps, depth - 1, h0)
        if not first.valid:
            return first
        end = first.end
        second = self._build_tree(end[0], end[1], end[3], eps, depth - 1, h0)
        if not second.valid:
            return second
        log_w = _logaddexp(first.log_w, second.log_w)
        # multinomial (uniform progressive) sampling inside a subtree
        if log_w > -math.inf and self._rng.random() < math.exp(second.log_w - log_w):
            first.proposal = second.proposal
        rho = first.rho + second.rho
        first.valid = self._merge_criteria(first, second, rho, depth == 1)
        first.end = second.end
        first.rho = rho
        first.log_w = log_w
        return first

    def _transition(self) -> tuple[float, bool]:
        metric = self._metric
        z0, pe0, grad0 = self._z, self._pe, self._grad
        r0 = metric.sample_momentum(z0)
        v0 = metric.velocity(r0)
        h0 = pe0 + 0.5 * torch.dot(r0, v0).item()
        self._tree_steps = 0
        self._tree_accept = 0.0
        self._tree_diverging = False
        if not self.use_multinomial_sampling:
            # slice variable u ~ Uniform(0, exp(-H0)); log u relative to -H0
            self._log_slice = math.log1p(-self._rng.random())
        step_size = self.step_size
        rng = self._rng
        start = (z0, r0, v0, grad0)
        left = right = start
        rho = r0
        log_w = 0.0
        proposal = (z0, pe0, grad0)
        depth = 0
        while depth < self.max_tree_depth:
            forward = rng.random() < 0.5
            edge = right if forward else left
            tree = self._build_tree(edge[0], edge[1], edge[3],
                                    step_size if forward else -step_size, depth, h0)
            depth += 1
            if not tree.valid:
                break
            # biased progressive sampling across doublings (Betancourt 2017, A.3.2)
            # (with slice sampling the weights are counts of states in the slice and this
            # is the min(1, n'/n) rule of Hoffman & Gelman 2014, algorithm 3)
            if tree.log_w > log_w or rng.random() < math.exp(tree.log_w - log_w):
                proposal = tree.proposal
            log_w = _logaddexp(log_w, tree.log_w)
            # the old trajectory, oriented along this doubling's direction, then the tree
            if forward:
                old = _Subtree(left[1], left[2], right, rho, 0.0, None, True)
                right = tree.end
            else:
                old = _Subtree(right[1], right[2], left, rho, 0.0, None, True)
                left = tree.end
            rho = rho + tree.rho
            if not self._merge_criteria(old, tree, rho, depth == 1):
                break
        self._z, self._pe, self._grad = proposal
        self._last_depth = depth
        self._depth_sum += depth
        self._steps_sum += self._tree_steps
        self._tree_count += 1
        accept_prob = self._tree_accept / max(self._tree_steps, 1)
        return accept_prob, self._tree_diverging

    # ------------------------------------------------------------ reporting

    def diagnostics(self) -> dict[str, Any]:
        out = super().diagnostics()
        n = max(self._tree_count, 1)
        out["mean tree depth"] = self._depth_sum / n
        out["mean num steps"] = self._steps_sum / n
        return out
