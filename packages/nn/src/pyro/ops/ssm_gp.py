"""Univariate Gaussian processes with Matern kernels as linear state space models.

A GP with a Matern kernel of half-integer order ``nu = p + 1/2`` is the first coordinate of
a ``p + 1``-dimensional linear stochastic differential equation ``dz = F z dt + L dW``
[1, 2]. Observed at times ``dt`` apart, the state evolves as ``z' = expm(F dt) z + noise``
with stationary covariance ``P`` and process noise covariance ``P - A P A^T``, which is
what Kalman filters and :class:`~pyro.distributions.GaussianHMM` consume. This ships with
pyro-nn because the kernel's length and kernel scales are learnable
:class:`~pyro.nn.PyroModule` parameters.

**References**

[1] J. Hartikainen, S. Sarkka (2010), "Kalman Filtering and Smoothing Solutions to
    Temporal Gaussian Process Regression Models", IEEE MLSP.
[2] A. Solin (2016), "Stochastic Differential Equation Methods for Spatio-Temporal
    Gaussian Process Regression", doctoral dissertation, Aalto University.
"""
from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from pyro.nn import PyroModule, PyroParam

__all__ = ["MaternKernel"]

_STATE_DIM = {0.5: 1, 1.5: 2, 2.5: 3}


class MaternKernel(PyroModule):
    """Building blocks of ``num_gps`` independent univariate Matern GPs in state space
    form, with learnable positive ``length_scale`` and ``kernel_scale`` (each of shape
    ``(num_gps,)``).

    Matrices are laid out as ``(num_gps, old_state, new_state)``: the transition matrix
    multiplies states from the right (``new = old @ A``), i.e. ``A = expm(F dt)^T``.

    :param float nu: the order of the Matern kernel, one of 0.5, 1.5 or 2.5 (state
        dimension 1, 2 or 3).
    :param int num_gps: the number of GPs.
    :param torch.Tensor length_scale_init: optional initial length scales, shape
        ``(num_gps,)`` (default ones).
    :param torch.Tensor kernel_scale_init: optional initial kernel scales (standard
        deviations of the GP), shape ``(num_gps,)`` (default ones).
    :raises ValueError: for another ``nu``, a nonpositive ``num_gps`` or initial values
        of the wrong shape.
    """

    # PyroModule.__setattr__ turns the PyroParam declarations below into these tensors
    length_scale: torch.Tensor
    kernel_scale: torch.Tensor

    def __init__(
        self,
        nu: float = 1.5,
        num_gps: int = 1,
        length_scale_init: torch.Tensor | None = None,
        kernel_scale_init: torch.Tensor | None = None,
    ) -> None:
        if nu not in _STATE_DIM:
            raise ValueError(f"MaternKernel: nu must be 0.5, 1.5 or 2.5, got {nu}")
        if not (isinstance(num_gps, int) and num_gps > 0):
            raise ValueError(f"MaternKernel: num_gps must be a positive int, got {num_gps!r}")
        super().__init__()
        self.nu = nu
        self.state_dim = _STATE_DIM[nu]
        self.num_gps = num_gps
        length_scale_init = self._init(length_scale_init, "length_scale_init")
        kernel_scale_init = self._init(kernel_scale_init, "kernel_scale_init")
        positive = constraints.positive
        self.length_scale = PyroParam(length_scale_init, positive)  # type: ignore[assignment]
        self.kernel_scale = PyroParam(kernel_scale_init, positive)  # type: ignore[assignment]

    def _init(self, value: torch.Tensor | None, name: str) -> torch.Tensor:
        if value is None:
            return torch.ones(self.num_gps)
        value = torch.as_tensor(value)
        if value.shape != (self.num_gps,):
            raise ValueError(f"MaternKernel: {name} must have shape ({self.num_gps},), got "
                             f"{tuple(value.shape)}")
        return value

    def _drift(self) -> torch.Tensor:
        """The SDE's drift matrices ``F``, shape ``(num_gps, state_dim, state_dim)``
        (companion form of the spectral density's denominator ``(lam + s)^(p+1)``)."""
        lam = math.sqrt(2 * self.nu) / self.length_scale
        p1 = self.state_dim
        coeffs = [math.comb(p1, k) * lam ** (p1 - k) for k in range(p1)]  # a_0 .. a_p
        F = lam.new_zeros(self.num_gps, p1, p1)
        if p1 > 1:
            F[:, :-1, 1:] = torch.eye(p1 - 1, dtype=lam.dtype, device=lam.device)
        F[:, -1, :] = -torch.stack(coeffs, -1)
        return F

    def transition_matrix(self, dt: float | torch.Tensor) -> torch.Tensor:
        """The transition matrix ``expm(F dt)^T`` of the GP state over a time ``dt`` (see
        section 5 of [1]), laid out ``(num_gps, old_state, new_state)``.

        :param dt: the time interval (a number or a scalar tensor), >= 0.
        :returns: a tensor of shape ``(num_gps, state_dim, state_dim)``.
        """
        F = self._drift()
        dt = torch.as_tensor(dt, dtype=F.dtype, device=F.device)
        return torch.linalg.matrix_exp(F * dt).mT

    def stationary_covariance(self) -> torch.Tensor:
        """The stationary covariance ``P`` of the state (solution of
        ``F P + P F^T + L q L^T = 0``; equation 3.26 of [2]).

        :returns: a tensor of shape ``(num_gps, state_dim, state_dim)``.
        """
        var = self.kernel_scale.pow(2)
        if self.nu == 0.5:
            return var[:, None, None]
        lam2 = (2 * self.nu) / self.length_scale.pow(2)
        if self.nu == 1.5:
            diag = torch.stack([var, lam2 * var], -1)
            return torch.diag_embed(diag)
        P = var.new_zeros(self.num_gps, 3, 3)
        P[:, 0, 0] = var
        P[:, 1, 1] = lam2 * var / 3
        P[:, 0, 2] = P[:, 2, 0] = -lam2 * var / 3
        P[:, 2, 2] = lam2.pow(2) * var
        return P

    def process_covariance(self, A: torch.Tensor) -> torch.Tensor:
        """The process noise covariance ``P - A^T P A`` (equation 3.11 of [2], in this
        module's right-multiplying layout) for a transition matrix ``A`` from
        :meth:`transition_matrix`.

        :param A: a tensor of shape ``(num_gps, state_dim, state_dim)``.
        :returns: a symmetric tensor of the same shape.
        """
        P = self.stationary_covariance()
        Q = P - A.mT @ P @ A
        return (Q + Q.mT) / 2  # symmetric up to rounding

    def transition_matrix_and_covariance(
        self, dt: float | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(transition_matrix(dt), process_covariance(transition_matrix(dt)))``.

        :param dt: the time interval.
        :returns: two tensors of shape ``(num_gps, state_dim, state_dim)``.
        """
        A = self.transition_matrix(dt)
        return A, self.process_covariance(A)
