"""Euclidean metric and the velocity Verlet (leapfrog) integrator on flat vectors.

The position ``z`` and momentum ``r`` are 1-d tensors of the ``D`` unconstrained latent
coordinates. The kinetic energy is ``K(r) = r^T M^{-1} r / 2`` with the inverse mass
matrix ``M^{-1}`` either a vector (diagonal metric) or a ``D x D`` matrix (dense metric).

**References**

- R. M. Neal (2011), "MCMC using Hamiltonian dynamics", Handbook of Markov Chain Monte
  Carlo, chapter 5 (leapfrog, section 5.2.3.3).
- M. Betancourt (2017), "A Conceptual Introduction to Hamiltonian Monte Carlo",
  arXiv:1701.02434 (Euclidean-Gaussian kinetic energies, section 4.2).
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["EuclideanMetric", "velocity_verlet"]

#: ``potential_grad(z) -> (potential energy as a float, gradient tensor shaped like z)``
PotentialGrad = Callable[[torch.Tensor], "tuple[float, torch.Tensor]"]


class EuclideanMetric:
    """The inverse mass matrix ``M^{-1}`` and what the integrator needs from it.

    :param torch.Tensor inverse_mass_matrix: shape ``(D,)`` (diagonal) or ``(D, D)``
        (dense, symmetric positive definite).
    :raises ValueError: if the matrix is not square or not positive definite.
    """

    __slots__ = ("inverse_mass_matrix", "dense", "_mass_sqrt")

    def __init__(self, inverse_mass_matrix: torch.Tensor) -> None:
        self.set(inverse_mass_matrix)

    def set(self, inverse_mass_matrix: torch.Tensor) -> None:
        m = inverse_mass_matrix.detach()
        self.dense = m.dim() == 2
        if self.dense:
            if m.size(0) != m.size(1):
                raise ValueError(f"a dense inverse mass matrix must be square, got shape "
                                 f"{tuple(m.shape)}")
            chol, info = torch.linalg.cholesky_ex(m)
            if info.item() != 0:
                raise ValueError("the inverse mass matrix is not positive definite; use "
                                 "full_mass=False or more warmup steps")
            # M^{-1} = A A^T  =>  r = A^{-T} eps has covariance A^{-T} A^{-1} = M
            eye = torch.eye(m.size(0), dtype=m.dtype, device=m.device)
            self._mass_sqrt = torch.linalg.solve_triangular(chol, eye, upper=False).mT
        else:
            if m.dim() != 1:
                raise ValueError(f"a diagonal inverse mass matrix must be 1-d, got shape "
                                 f"{tuple(m.shape)}")
            if not bool((m > 0).all()):
                raise ValueError("the diagonal inverse mass matrix must be positive")
            self._mass_sqrt = m.rsqrt()
        self.inverse_mass_matrix = m

    def sample_momentum(self, like: torch.Tensor) -> torch.Tensor:
        """A draw ``r ~ Normal(0, M)`` shaped like ``like``."""
        eps = torch.randn_like(like)
        if self.dense:
            return torch.mv(self._mass_sqrt, eps)
        return eps.mul_(self._mass_sqrt)

    def velocity(self, r: torch.Tensor) -> torch.Tensor:
        """``M^{-1} r``, the gradient of the kinetic energy (``p_sharp`` in Betancourt 2017)."""
        if self.dense:
            return torch.mv(self.inverse_mass_matrix, r)
        return r * self.inverse_mass_matrix

    def kinetic_energy(self, r: torch.Tensor) -> float:
        return 0.5 * torch.dot(r, self.velocity(r)).item()


def velocity_verlet(
    z: torch.Tensor,
    r: torch.Tensor,
    grad: torch.Tensor,
    step_size: float,
    potential_grad: PotentialGrad,
    metric: EuclideanMetric,
    num_steps: int = 1,
) -> tuple[torch.Tensor, torch.Tensor, float, torch.Tensor]:
    """``num_steps`` leapfrog steps of size ``step_size`` (negative integrates backwards)::

        r <- r - eps/2 grad U(z);  z <- z + eps M^{-1} r;  r <- r - eps/2 grad U(z)

    Consecutive half steps of the momentum are fused, so ``L`` steps cost ``L`` gradient
    evaluations. Inputs are not modified.

    :param z: position, shape ``(D,)``.
    :param r: momentum, shape ``(D,)``.
    :param grad: ``grad U(z)``, shape ``(D,)``.
    :returns: ``(z, r, potential_energy, grad)`` at the end of the trajectory.

    **References** Neal (2011), section 5.2.3.3.
    """
    half = 0.5 * step_size
    r = r.add(grad, alpha=-half)
    pe = float("nan")
    for i in range(num_steps):
        z = z.add(metric.velocity(r), alpha=step_size)
        pe, grad = potential_grad(z)
        r = r.add(grad, alpha=-(step_size if i + 1 < num_steps else half))
    return z, r, pe, grad
