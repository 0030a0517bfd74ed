"""The von Mises-Fisher distribution on the 2-sphere."""
from __future__ import annotations

import math

import torch

from . import constraints
from .torch_distribution import TorchDistribution

__all__ = ["VonMises3D"]


def _log_sinhc(kappa: torch.Tensor) -> torch.Tensor:
    """``log(sinh(k) / k)``, stable for small and large ``k``."""
    small = kappa < 1e-3
    k = torch.where(small, torch.ones_like(kappa), kappa)
    large = k + torch.log1p(-torch.exp(-2 * k)) - math.log(2) - k.log()
    return torch.where(small, kappa**2 / 6, large)


class VonMises3D(TorchDistribution):
    r"""Spherical von Mises (von Mises-Fisher) distribution on the 2-sphere.

    The direction and the concentration are combined in one vector
    :math:`c = \kappa\mu` (``concentration``); the density with respect to the surface
    measure is :math:`\frac{\kappa}{4\pi\sinh\kappa} e^{c\cdot x}` for unit vectors
    :math:`x` in Cartesian coordinates. See :class:`~pyro.distributions.VonMises` for the
    circular cousin and :class:`~pyro.distributions.ProjectedNormal` for a reparameterized
    alternative. Beyond Pyro (``log_prob`` only), :meth:`sample` implements Wood's
    algorithm [1], exact on :math:`S^2`.

    :param concentration: shape ``batch_shape + (3,)``.
    :raises ValueError: if the last dimension is not 3.

    **References**

    [1] A.T.A. Wood (1994), *Simulation of the von Mises Fisher distribution*,
    Communications in Statistics - Simulation and Computation 23(1).
    """

    arg_constraints = {"concentration": constraints.real}
    support = constraints.sphere

    def __init__(self, concentration, validate_args=None) -> None:
        concentration = torch.as_tensor(concentration)
        if concentration.dim() < 1 or concentration.size(-1) != 3:
            raise ValueError("VonMises3D: concentration must have shape (..., 3), got "
                             f"{tuple(concentration.shape)}")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], torch.Size((3,)),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return VonMises3D(self.concentration.expand(batch_shape + (3,)),
                          validate_args=self._validate_args)

    def log_prob(self, value):
        if self._validate_args:
            if value.size(-1) != 3:
                raise ValueError("VonMises3D.log_prob: expected values of shape (..., 3), got "
                                 f"{tuple(value.shape)}")
            self._validate_sample(value)
        kappa = self.concentration.norm(dim=-1)
        return (self.concentration * value).sum(-1) - math.log(4 * math.pi) - _log_sinhc(kappa)

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            shape = self._extended_shape(sample_shape)[:-1]
            c = self.concentration.expand(shape + (3,))
            kappa = c.norm(dim=-1)
            mu = c / kappa.clamp(min=torch.finfo(c.dtype).tiny).unsqueeze(-1)
            mu = torch.where(kappa.unsqueeze(-1) > 0, mu, torch.tensor([0.0, 0.0, 1.0]).to(c))
            u = torch.rand(shape, dtype=c.dtype, device=c.device)
            # w = cos(angle to mu): inverse CDF of p(w) ~ e^{kappa w} on [-1, 1]
            k = kappa.clamp(min=1e-6)
            w = 1 + torch.log(u + (1 - u) * torch.exp(-2 * k)) / k
            w = torch.where(kappa > 1e-6, w, 2 * u - 1).clamp(-1, 1)
            phi = 2 * math.pi * torch.rand(shape, dtype=c.dtype, device=c.device)
            r = (1 - w**2).clamp(min=0).sqrt()
            local = torch.stack([r * phi.cos(), r * phi.sin(), w], -1)
            return _rotate_z_to(mu, local)


def _rotate_z_to(mu: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` by the rotation taking the z axis to the unit vector ``mu`` (a
    Householder reflection composed with a flip, so it is a proper rotation)."""
    e = torch.zeros_like(mu)
    e[..., 2] = 1
    v = e - mu
    norm2 = (v * v).sum(-1, keepdim=True)
    safe = norm2 > 1e-12
    v = v / norm2.clamp(min=1e-12).sqrt()
    # Householder H = I - 2 v v^T maps e to mu; flipping the x coordinate first keeps det +1
    flipped = x * torch.tensor([-1.0, 1.0, 1.0]).to(x)
    reflected = flipped - 2 * (flipped * v).sum(-1, keepdim=True) * v
    return torch.where(safe, reflected, x)
