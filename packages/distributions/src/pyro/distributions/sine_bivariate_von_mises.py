"""The sine bivariate von Mises distribution on the 2-torus."""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch.distributions.utils import broadcast_all, lazy_property

from . import constraints
from .torch_distribution import TorchDistribution

__all__ = ["SineBivariateVonMises"]


def _log_bessel_i_scaled(orders: int, kappa: torch.Tensor, num_points: int = 256):
    """``log(I_m(kappa) e^{-kappa})`` for ``m = 0..orders-1``, on a new trailing
    dimension, from :math:`I_m(\\kappa) = \\frac1\\pi\\int_0^\\pi e^{\\kappa\\cos t}\\cos(mt)dt`
    (Gauss-Legendre). Orders whose value underflows the quadrature come out ``-inf``; they
    are negligible next to ``I_0``."""
    nodes, weights = np.polynomial.legendre.leggauss(num_points)
    t = torch.as_tensor((nodes + 1) * math.pi / 2, dtype=kappa.dtype, device=kappa.device)
    w = torch.as_tensor(weights * math.pi / 2, dtype=kappa.dtype, device=kappa.device)
    m = torch.arange(orders, dtype=kappa.dtype, device=kappa.device)
    integrand = torch.exp(kappa[..., None, None] * (torch.cos(t) - 1)) * torch.cos(m[:, None] * t)
    values = (integrand * w).sum(-1) / math.pi
    return values.clamp(min=0).log()


class SineBivariateVonMises(TorchDistribution):
    r"""Unimodal distribution of two dependent angles :math:`(\phi, \psi)` on the 2-torus
    [1]:

    .. math:: C^{-1}\exp\big(\kappa_1\cos(\phi - \mu) + \kappa_2\cos(\psi - \nu)
        + \rho\sin(\phi - \mu)\sin(\psi - \nu)\big),

    with :math:`C = 4\pi^2\sum_{m \ge 0}\binom{2m}{m}\big(\frac{\rho^2}{4\kappa_1\kappa_2}
    \big)^m I_m(\kappa_1) I_m(\kappa_2)` (``norm_const`` is :math:`\log C`, summed to 50
    terms). Values are ``(..., 2)`` tensors ``(phi, psi)`` in radians. The distribution is
    unimodal when :math:`\rho^2 < \kappa_1\kappa_2`; larger correlations warn.

    Give either ``correlation`` :math:`\rho` or ``weighted_correlation`` :math:`w \in [0, 1]`,
    :math:`\rho = w\sqrt{\kappa_1\kappa_2}` (which keeps the distribution unimodal).

    Sampling is exact: :math:`\phi` from its marginal :math:`\propto e^{\kappa_1\cos(\phi -
    \mu)} I_0(\sqrt{\kappa_2^2 + \rho^2\sin^2(\phi - \mu)})` by rejection from
    :math:`\mathrm{VonMises}(\mu, \kappa_1)`, then :math:`\psi \mid \phi` is von Mises.

    :param phi_loc: location of the first angle.
    :param psi_loc: location of the second angle.
    :param phi_concentration: :math:`\kappa_1 > 0`.
    :param psi_concentration: :math:`\kappa_2 > 0`.
    :param correlation: :math:`\rho`.
    :param weighted_correlation: :math:`w \in [0, 1]`.
    :raises ValueError: unless exactly one of ``correlation`` and ``weighted_correlation``
        is given.

    **References**

    [1] H. Singh, V. Hnizdo, E. Demchuk (2002), *Probabilistic model for two dependent
    circular variables*, Biometrika 89(3).
    """

    arg_constraints = {
        "phi_loc": constraints.real,
        "psi_loc": constraints.real,
        "phi_concentration": constraints.positive,
        "psi_concentration": constraints.positive,
        "correlation": constraints.real,
    }
    support = constraints.independent(constraints.real, 1)
    max_sample_iter = 1000
    _num_series_terms = 50

    def __init__(self, phi_loc, psi_loc, phi_concentration, psi_concentration,
                 correlation=None, weighted_correlation=None, validate_args=None) -> None:
        if (correlation is None) == (weighted_correlation is None):
            raise ValueError("SineBivariateVonMises: give exactly one of correlation and "
                             "weighted_correlation")
        if weighted_correlation is not None:
            weighted_correlation = torch.as_tensor(weighted_correlation)
            correlation = weighted_correlation * (
                torch.as_tensor(phi_concentration) * torch.as_tensor(psi_concentration)).sqrt()
        (self.phi_loc, self.psi_loc, self.phi_concentration, self.psi_concentration,
         self.correlation) = broadcast_all(phi_loc, psi_loc, phi_concentration,
                                           psi_concentration, correlation)
        lhs = self.correlation**2
        rhs = self.phi_concentration * self.psi_concentration
        if bool((lhs >= rhs).any()):
            warnings.warn("SineBivariateVonMises: correlation**2 >= phi_concentration * "
                          "psi_concentration makes the distribution bimodal", UserWarning,
                          stacklevel=2)
        super().__init__(self.phi_loc.shape, torch.Size((2,)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return SineBivariateVonMises(
            self.phi_loc.expand(batch_shape), self.psi_loc.expand(batch_shape),
            self.phi_concentration.expand(batch_shape), self.psi_concentration.expand(batch_shape),
            correlation=self.correlation.expand(batch_shape), validate_args=self._validate_args)

    @lazy_property
    def norm_const(self) -> torch.Tensor:
        """:math:`\\log C`, the log normalizer."""
        k1, k2, rho = self.phi_concentration, self.psi_concentration, self.correlation
        n = self._num_series_terms
        m = torch.arange(n, dtype=k1.dtype, device=k1.device)
        log_binom = torch.lgamma(2 * m + 1) - 2 * torch.lgamma(m + 1)
        log_ratio = (2 * rho.abs().clamp(min=torch.finfo(rho.dtype).tiny).log()
                     - math.log(4) - k1.log() - k2.log())
        terms = (log_binom + m * log_ratio.unsqueeze(-1) + _log_bessel_i_scaled(n, k1)
                 + _log_bessel_i_scaled(n, k2))
        # rho = 0 leaves only the m = 0 term
        terms = torch.where((rho == 0).unsqueeze(-1) & (m > 0), terms.new_full((), -math.inf),
                            terms)
        return 2 * math.log(2 * math.pi) + k1 + k2 + torch.logsumexp(terms, -1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        dphi = value[..., 0] - self.phi_loc
        dpsi = value[..., 1] - self.psi_loc
        return (self.phi_concentration * dphi.cos() + self.psi_concentration * dpsi.cos()
                + self.correlation * dphi.sin() * dpsi.sin() - self.norm_const)

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            shape = torch.Size(sample_shape) + self.batch_shape
            k1 = self.phi_concentration.expand(shape)
            k2 = self.psi_concentration.expand(shape)
            rho = self.correlation.expand(shape)
            bound = torch.special.i0e((k2**2 + rho**2).sqrt())
            bound_log = bound.log() + (k2**2 + rho**2).sqrt()
            dphi = torch.zeros(shape, dtype=k1.dtype, device=k1.device)
            done = torch.zeros(shape, dtype=torch.bool, device=k1.device)
            proposal = torch.distributions.VonMises(torch.zeros_like(k1), k1)
            for _ in range(self.max_sample_iter):
                x = proposal.sample()
                a = (k2**2 + rho**2 * x.sin() ** 2).sqrt()
                log_accept = torch.special.i0e(a).log() + a - bound_log
                accept = ~done & (torch.rand_like(x).log() < log_accept)
                dphi = torch.where(accept, x, dphi)
                done = done | accept
                if bool(done.all()):
                    break
            else:
                raise RuntimeError("SineBivariateVonMises.sample: rejection sampling did not "
                                   f"finish in {self.max_sample_iter} rounds")
            s = dphi.sin()
            conc = (k2**2 + rho**2 * s**2).sqrt()
            shift = torch.atan2(rho * s, k2)
            dpsi = torch.distributions.VonMises(shift, conc).sample()
            phi = _wrap(self.phi_loc + dphi)
            psi = _wrap(self.psi_loc + dpsi)
            return torch.stack([phi, psi], -1)

    @property
    def mean(self):
        """The circular means ``(phi_loc, psi_loc)``."""
        return torch.stack([self.phi_loc, self.psi_loc], -1)


def _wrap(x: torch.Tensor) -> torch.Tensor:
    """Angles wrapped to ``[-pi, pi)``."""
    return torch.remainder(x + math.pi, 2 * math.pi) - math.pi
