"""Nesterov's dual averaging, as used to tune the step size of HMC / NUTS.

**References**

- Y. Nesterov (2009), "Primal-dual subgradient methods for convex problems",
  Mathematical Programming 120.
- M. D. Hoffman, A. Gelman (2014), "The No-U-Turn Sampler: Adaptively Setting Path
  Lengths in Hamiltonian Monte Carlo", JMLR 15, section 3.2 and algorithm 5.
"""
from __future__ import annotations

import math

import torch

__all__ = ["DualAveraging"]


class DualAveraging:
    """Dual averaging of a parameter ``x`` (e.g. a log step size) driven by noisy
    statistics ``g_t`` whose expectation should reach zero (Hoffman & Gelman 2014,
    algorithm 5). After ``t`` calls of :meth:`step`::

        gbar_t = (1 - 1/(t + t0)) gbar_{t-1} + g_t / (t + t0)
        x_t    = prox_center - sqrt(t) / gamma * gbar_t
        xbar_t = t^-kappa x_t + (1 - t^-kappa) xbar_{t-1}

    For step-size adaptation ``g_t = target_accept_prob - accept_prob_t`` and
    ``prox_center = log(10 * step_size)``. Every quantity may be a float or a tensor (one
    value per chain, for batched chains); arithmetic is elementwise.

    :param prox_center: the point ``mu`` the iterates shrink towards.
    :param float t0: stabilizes the first iterations (10).
    :param float kappa: decay of the averaging weights, in (0.5, 1] (0.75).
    :param float gamma: shrinkage towards ``prox_center`` (0.05).
    :raises ValueError: for ``t0 < 0``, ``gamma <= 0`` or ``kappa`` outside (0.5, 1].

    **References** Nesterov (2009); Hoffman & Gelman (2014), JMLR 15, section 3.2.
    """

    __slots__ = ("prox_center", "t0", "kappa", "gamma", "_t", "_g_avg", "_x_t", "_x_avg")

    def __init__(self, prox_center: float | torch.Tensor = 0.0, t0: float = 10.0,
                 kappa: float = 0.75, gamma: float = 0.05) -> None:
        if t0 < 0:
            raise ValueError(f"DualAveraging: t0 must be >= 0, got {t0}")
        if not 0.5 < kappa <= 1:
            raise ValueError(f"DualAveraging: kappa must be in (0.5, 1], got {kappa}")
        if not gamma > 0:
            raise ValueError(f"DualAveraging: gamma must be positive, got {gamma}")
        self.prox_center = prox_center
        self.t0 = t0
        self.kappa = kappa
        self.gamma = gamma
        self.reset()

    def reset(self) -> None:
        """Restart the averaging (keeps ``prox_center``, which may be reassigned first)."""
        self._t = 0
        self._g_avg: float | torch.Tensor = 0.0
        self._x_t: float | torch.Tensor = self.prox_center
        self._x_avg: float | torch.Tensor = 0.0

    def step(self, g: float | torch.Tensor) -> None:
        """Record one statistic ``g_t`` (float, or a tensor with one value per chain)."""
        self._t += 1
        t = self._t
        w = 1.0 / (t + self.t0)
        self._g_avg = (1.0 - w) * self._g_avg + w * g
        self._x_t = self.prox_center - (math.sqrt(t) / self.gamma) * self._g_avg
        eta = t ** (-self.kappa)
        self._x_avg = eta * self._x_t + (1.0 - eta) * self._x_avg

    def get_state(self) -> tuple:
        """``(x_t, xbar_t)``: the latest iterate (use it during warmup) and the averaged
        one (use it after warmup; equal to ``x_t`` before the first step)."""
        x_avg = self._x_avg if self._t > 0 else self._x_t
        return self._x_t, x_avg
