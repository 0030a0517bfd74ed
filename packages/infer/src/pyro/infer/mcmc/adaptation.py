"""Warmup adaptation of HMC / NUTS: step size by dual averaging and the mass matrix
(diagonal or dense) from windowed sample (co)variances, on Stan's schedule.

**References**

- M. D. Hoffman, A. Gelman (2014), "The No-U-Turn Sampler: Adaptively Setting Path
  Lengths in Hamiltonian Monte Carlo", JMLR 15, algorithm 5 (dual averaging, section 3.2).
- Y. Nesterov (2009), "Primal-dual subgradient methods for convex problems",
  Mathematical Programming 120.
- Stan Development Team, "Stan Reference Manual", section "HMC algorithm parameters /
  Automatic parameter tuning" (adaptation windows and the regularized metric).
- B. P. Welford (1962), "Note on a method for calculating corrected sums of squares and
  products", Technometrics 4(3).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

__all__ = ["AdaptWindow", "DualAveraging", "WarmupAdapter", "WelfordCovariance", "adapt_schedule"]


class DualAveraging:
    """Nesterov dual averaging of a log step size towards a target acceptance statistic
    (Hoffman & Gelman 2014, algorithm 5).

    After ``t`` updates with acceptance statistics ``a_1..a_t``::

        H_t = (1 - 1/(t + t0)) H_{t-1} + (target - a_t) / (t + t0)
        x_t = mu - sqrt(t) / gamma * H_t                   (the log step size to use next)
        xbar_t = t^-kappa x_t + (1 - t^-kappa) xbar_{t-1}  (the one to keep after warmup)

    :param float prox_center: ``mu``, the point the iterates shrink towards
        (``log(10 * step_size)`` in the paper).
    :param float target_accept_prob: the target ``delta`` of the mean acceptance statistic.
    :param float t0: stabilizes the first iterations (10).
    :param float kappa: decay of the averaging weights, in (0.5, 1] (0.75).
    :param float gamma: shrinkage towards ``mu`` (0.05).

    **References** Hoffman & Gelman (2014), JMLR 15, section 3.2.
    """

    __slots__ = ("prox_center", "target", "t0", "kappa", "gamma", "_t", "_h_bar", "_x", "_x_bar")

    def __init__(self, prox_center: float = 0.0, target_accept_prob: float = 0.8,
                 t0: float = 10.0, kappa: float = 0.75, gamma: float = 0.05) -> None:
        if not 0 < target_accept_prob < 1:
            raise ValueError(f"target_accept_prob must be in (0, 1), got {target_accept_prob}")
        self.prox_center = prox_center
        self.target = target_accept_prob
        self.t0 = t0
        self.kappa = kappa
        self.gamma = gamma
        self.reset(prox_center)

    def reset(self, prox_center: float | None = None) -> None:
        """Restart the averaging, optionally around a new ``prox_center``."""
        if prox_center is not None:
            self.prox_center = prox_center
        self._t = 0
        self._h_bar = 0.0
        self._x = self.prox_center
        self._x_bar = 0.0

    def step(self, accept_prob: float) -> float:
        """Record one acceptance statistic; returns the new log step size ``x_t``."""
        self._t += 1
        t = self._t
        w = 1.0 / (t + self.t0)
        self._h_bar = (1.0 - w) * self._h_bar + w * (self.target - accept_prob)
        self._x = self.prox_center - math.sqrt(t) / self.gamma * self._h_bar
        eta = t ** (-self.kappa)
        self._x_bar = eta * self._x + (1.0 - eta) * self._x_bar
        return self._x

    @property
    def log_step_size(self) -> float:
        """The current iterate ``x_t``."""
        return self._x

    @property
    def averaged_log_step_size(self) -> float:
        """The averaged iterate ``xbar_t`` (used once warmup ends)."""
        return self._x_bar if self._t > 0 else self._x


class WelfordCovariance:
    """Running mean and (co)variance of vectors by Welford's algorithm, with Stan's
    regularization of the estimate towards ``1e-3 * I``.

    :param bool diagonal: estimate only the variances (a vector) instead of the full
        covariance matrix.
    """

    __slots__ = ("diagonal", "n", "_mean", "_m2")

    def __init__(self, diagonal: bool = True) -> None:
        self.diagonal = diagonal
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self._mean = None
        self._m2 = None

    def update(self, x: torch.Tensor) -> None:
        """Add one sample ``x`` shaped ``(D,)``."""
        x = x.detach()
        self.n += 1
        if self._mean is None:
            self._mean = x.clone()
            self._m2 = x.new_zeros(x.shape if self.diagonal else x.shape + x.shape)
            return
        delta = x - self._mean
        self._mean.add_(delta, alpha=1.0 / self.n)
        delta_after = x - self._mean
        if self.diagonal:
            self._m2.addcmul_(delta, delta_after)
        else:
            self._m2.add_(torch.outer(delta_after, delta))

    def covariance(self, regularize: bool = True) -> torch.Tensor:
        """The unbiased sample (co)variance; with ``regularize``, shrunk as in Stan:
        ``n / (n + 5) * cov + 1e-3 * 5 / (n + 5) * I``.

        :raises RuntimeError: with fewer than 2 samples.
        """
        if self.n < 2:
            raise RuntimeError(f"need at least 2 samples to estimate a covariance, have {self.n}")
        cov = self._m2 / (self.n - 1)
        if regularize:
            n = self.n
            shrink = 1e-3 * 5.0 / (n + 5.0)
            cov = cov * (n / (n + 5.0))
            if self.diagonal:
                cov = cov + shrink
            else:
                cov = cov + shrink * torch.eye(cov.size(0), dtype=cov.dtype, device=cov.device)
        return cov


class AdaptWindow(NamedTuple):
    """Warmup iterations ``start..end`` (inclusive) of one adaptation phase."""

    start: int
    end: int


def adapt_schedule(warmup_steps: int, init_buffer: int = 75, term_buffer: int = 50,
                   base_window: int = 25) -> list[AdaptWindow]:
    """Stan's warmup windows: a fast initial buffer (step size only), slow windows of
    doubling length (step size + mass matrix; the metric is updated at the end of each),
    and a fast terminal buffer (step size only).

    The first and last windows are the buffers; the ones in between are the slow windows.
    With fewer than 20 warmup steps there is a single window. When the default sizes do
    not fit, the buffers take 15% and 10% of warmup and one slow window the rest.

    :returns: the windows, in order, covering ``0..warmup_steps - 1``.
    """
    if warmup_steps < 20:
        return [AdaptWindow(0, warmup_steps - 1)] if warmup_steps > 0 else []
    if init_buffer + term_buffer + base_window > warmup_steps:
        init_buffer = int(0.15 * warmup_steps)
        term_buffer = int(0.1 * warmup_steps)
        base_window = warmup_steps - init_buffer - term_buffer
    windows = [AdaptWindow(0, init_buffer - 1)]
    slow_end = warmup_steps - term_buffer
    start, size = init_buffer, base_window
    while start < slow_end:
        end = start + size
        # a doubled next window that would not fit is merged into this one
        if end + 2 * size > slow_end:
            end = slow_end
        windows.append(AdaptWindow(start, end - 1))
        start, size = end, 2 * size
    windows.append(AdaptWindow(slow_end, warmup_steps - 1))
    return windows


class WarmupAdapter:
    """Drives step size and mass matrix adaptation over the warmup iterations.

    Usage by a kernel: :meth:`configure` at setup, then once per warmup iteration
    :meth:`step` with the iteration index, the unconstrained position ``z`` and the
    acceptance statistic. The adapter owns ``step_size`` and ``inverse_mass_matrix``
    (a vector for a diagonal metric, a matrix for a dense one) and calls
    ``find_step_size(step_size)`` -> new step size whenever the metric changes (and
    at the start) so that the kernel can re-run its step-size heuristic.

    :param bool adapt_step_size: run dual averaging during warmup.
    :param bool adapt_mass_matrix: estimate the inverse mass matrix in the slow windows.
    :param bool dense_mass: a dense (full) instead of a diagonal mass matrix.
    :param float target_accept_prob: target of dual averaging.

    **References** Hoffman & Gelman (2014); Stan Reference Manual (adaptation).
    """

    def __init__(self, step_size: float = 1.0, adapt_step_size: bool = True,
                 adapt_mass_matrix: bool = True, dense_mass: bool = False,
                 target_accept_prob: float = 0.8) -> None:
        self.step_size = float(step_size)
        self.adapt_step_size = adapt_step_size
        self.adapt_mass_matrix = adapt_mass_matrix
        self.dense_mass = dense_mass
        self.target_accept_prob = target_accept_prob
        self.dual_averaging = DualAveraging(target_accept_prob=target_accept_prob)
        self.welford = WelfordCovariance(diagonal=not dense_mass)
        self.inverse_mass_matrix: torch.Tensor | None = None
        self.schedule: list[AdaptWindow] = []
        self._slow_ends: set[int] = set()
        self._slow_starts: set[int] = set()
        self._warmup_steps = 0
        self._find_step_size = None

    def configure(self, warmup_steps: int, initial_z: torch.Tensor, find_step_size=None,
                  inverse_mass_matrix: torch.Tensor | None = None) -> None:
        """Reset for a new chain of ``warmup_steps`` warmup iterations from ``initial_z``."""
        self._warmup_steps = warmup_steps
        self._find_step_size = find_step_size
        dim = initial_z.numel()
        if inverse_mass_matrix is None:
            inverse_mass_matrix = (torch.eye(dim, dtype=initial_z.dtype, device=initial_z.device)
                                   if self.dense_mass else initial_z.new_ones(dim))
        self.inverse_mass_matrix = inverse_mass_matrix
        self.welford.reset()
        self.schedule = adapt_schedule(warmup_steps)
        slow = self.schedule[1:-1] if len(self.schedule) > 2 else []
        self._slow_starts = {w.start for w in slow}
        self._slow_ends = {w.end for w in slow}
        if self.adapt_step_size and find_step_size is not None:
            self.step_size = find_step_size(self.step_size)
        self.dual_averaging.reset(math.log(10 * self.step_size))

    def in_slow_window(self, i: int) -> bool:
        for w in self.schedule[1:-1]:
            if w.start <= i <= w.end:
                return True
        return False

    def step(self, i: int, z: torch.Tensor, accept_prob: float) -> None:
        """Adapt after warmup iteration ``i`` (0-based) that ended at ``z``."""
        if i >= self._warmup_steps:
            return
        if self.adapt_step_size:
            log_step = self.dual_averaging.step(accept_prob)
            if i == self._warmup_steps - 1:
                self.step_size = math.exp(self.dual_averaging.averaged_log_step_size)
            else:
                self.step_size = math.exp(log_step)
        if self.adapt_mass_matrix and self._slow_ends:
            if self.in_slow_window(i):
                self.welford.update(z)
            if i in self._slow_ends:
                self.inverse_mass_matrix = self.welford.covariance(regularize=True)
                self.welford.reset()
                if self.adapt_step_size:
                    if self._find_step_size is not None:
                        self.step_size = self._find_step_size(self.step_size)
                    self.dual_averaging.reset(math.log(10 * self.step_size))
