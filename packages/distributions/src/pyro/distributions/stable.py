r"""Lévy :math:`\alpha`-stable distributions."""
from __future__ import annotations

import math

import torch
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .stable_log_prob import stable_log_prob_s0
from .torch_distribution import TorchDistribution

__all__ = ["Stable", "StableWithLogProb"]

#: the Chambers-Mallows-Stuck formula for alpha != 1 divides by tan(pi alpha / 2)-sized
#: terms; within this distance of 1 the alpha = 1 formula is used (S0 is continuous there).
ALPHA_ONE_TOL = 1e-6


def standard_s0_sample(alpha: torch.Tensor, beta: torch.Tensor, v: torch.Tensor,
                       w: torch.Tensor) -> torch.Tensor:
    """A standard :math:`S^0_\\alpha(\\beta, 1, 0)` draw from ``v ~ Uniform(-pi/2, pi/2)``
    and ``w ~ Exponential(1)`` by Chambers-Mallows-Stuck (Weron's form), computed in float64
    and differentiable in ``alpha`` and ``beta``."""
    half_pi = math.pi / 2
    near_one = (alpha - 1).abs() < ALPHA_ONE_TOL
    a = torch.where(near_one, torch.full_like(alpha, 0.5), alpha)
    # alpha != 1: the S1 draw, shifted by -beta tan(pi alpha / 2) into S0
    b_tan = beta * torch.tan(half_pi * a)
    b_angle = torch.atan(b_tan) / a
    s = torch.log1p(b_tan**2) / (2 * a)
    av = a * (v + b_angle)
    log_z = (s + torch.log(torch.sin(av).abs()) - torch.log(torch.cos(v)) / a
             + (1 - a) / a * (torch.log(torch.cos(v - av)) - torch.log(w)))
    z_ne1 = torch.sign(torch.sin(av)) * torch.exp(log_z) - b_tan
    # alpha = 1 (S0 and S1 agree for the standard law)
    p = half_pi + beta * v
    z_1 = (p * torch.tan(v) - beta * torch.log(half_pi * w * torch.cos(v) / p)) / half_pi
    return torch.where(near_one, z_1, z_ne1)


class Stable(TorchDistribution):
    r"""Lévy :math:`\alpha`-stable distribution.

    By default it uses Nolan's S0 parametrization [2] :math:`S^0_\alpha(\beta, \sigma,
    \mu_0)` (``coords="S0"``), continuous and differentiable in every parameter; ``coords="S"``
    gives the S (S1) parametrization of scipy's ``levy_stable``, discontinuous at
    ``stability = 1``. With :math:`Z` standard:

    - S0: :math:`X = \mu_0 + \sigma Z_0`;
    - S: :math:`X = \mu + \sigma Z_1`, with :math:`Z_1 = Z_0 + \beta\tan(\pi\alpha/2)` for
      :math:`\alpha \ne 1`, and :math:`X = \mu + \sigma Z + \beta\frac{2}{\pi}\sigma\log\sigma`
      for :math:`\alpha = 1`.

    :meth:`rsample` is the reparameterized Chambers-Mallows-Stuck sampler [3] (gradients flow
    to all four parameters); :meth:`log_prob` integrates Nolan's representation of the
    density numerically (:mod:`pyro.distributions.stable_log_prob`), which is slow; where
    inference allows, reparameterize instead (``poutine.reparam`` with
    ``StableReparam``/``LatentStableReparam``/``SymmetricStableReparam``).

    :param stability: :math:`\alpha \in (0, 2]`.
    :param skew: :math:`\beta \in [-1, 1]`.
    :param scale: :math:`\sigma > 0` (default 1).
    :param loc: :math:`\mu_0` (S0) or :math:`\mu` (S) (default 0).
    :param str coords: ``"S0"`` (default) or ``"S"``.
    :raises ValueError: if ``coords`` is neither.

    Mean (for :math:`\alpha > 1`): :math:`\mu_0 - \beta\sigma\tan(\pi\alpha/2)` in S0,
    :math:`\mu` in S; NaN for :math:`\alpha \le 1`. Variance :math:`2\sigma^2` for
    :math:`\alpha = 2`, infinite otherwise.

    **References**

    [1] S. Borak, W. Härdle, R. Weron (2005), *Stable distributions*.

    [2] J.P. Nolan (1997), *Numerical calculation of stable densities and distribution
    functions*.

    [3] R. Weron (1996), *On the Chambers-Mallows-Stuck method for simulating skewed stable
    random variables*, Statistics & Probability Letters 28(2).

    [4] J.P. Nolan (2017), *Stable Distributions: Models for Heavy Tailed Data*, chapter 1.
    """

    arg_constraints = {
        "stability": constraints.interval(0, 2),
        "skew": constraints.interval(-1, 1),
        "scale": constraints.positive,
        "loc": constraints.real,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, stability, skew, scale=1.0, loc=0.0, coords: str = "S0",
                 validate_args=None) -> None:
        if coords not in ("S0", "S"):
            raise ValueError(f"{type(self).__name__}: coords must be 'S0' or 'S', got {coords!r}")
        self.stability, self.skew, self.scale, self.loc = broadcast_all(
            stability, skew, scale, loc)
        self.coords = coords
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(type(self), _instance)
        for name in ("stability", "skew", "scale", "loc"):
            setattr(new, name, getattr(self, name).expand(batch_shape))
        new.coords = self.coords
        TorchDistribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def loc_s0(self) -> torch.Tensor:
        """``loc`` converted to S0 coordinates."""
        if self.coords == "S0":
            return self.loc
        alpha, beta, scale = self.stability, self.skew, self.scale
        near_one = (alpha - 1).abs() < ALPHA_ONE_TOL
        safe_alpha = torch.where(near_one, torch.zeros_like(alpha), alpha)
        shift_ne1 = beta * scale * torch.tan(math.pi / 2 * safe_alpha)
        shift_1 = beta * (2 / math.pi) * scale * scale.log()
        return self.loc + torch.where(near_one, shift_1, shift_ne1)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        dtype, device = self.loc.dtype, self.loc.device
        finfo = torch.finfo(torch.float64)
        u = torch.rand(shape, dtype=torch.float64, device=device)
        v = (u.clamp(finfo.eps, 1 - finfo.eps) - 0.5) * math.pi
        w = torch.empty(shape, dtype=torch.float64, device=device).exponential_()
        w = w.clamp(min=finfo.tiny)
        z = standard_s0_sample(self.stability.double(), self.skew.double(), v, w).to(dtype)
        return self.loc_s0() + self.scale * z

    def log_prob(self, value):
        """Log density by numerical integration (see
        :mod:`pyro.distributions.stable_log_prob`)."""
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc_s0()) / self.scale
        return stable_log_prob_s0(z, self.stability, self.skew) - self.scale.log()

    @property
    def mean(self):
        if self.coords == "S":
            loc = self.loc
        else:
            loc = self.loc - self.skew * self.scale * torch.tan(math.pi / 2 * self.stability)
        return torch.where(self.stability <= 1, loc.new_full((), math.nan), loc)

    @property
    def variance(self):
        var = 2 * self.scale**2
        return torch.where(self.stability == 2, var, var.new_full((), math.inf))


class StableWithLogProb(Stable):
    """:class:`Stable`, marked to keep its (numerically integrated) :meth:`log_prob`:
    reparameterizers such as ``MinimalReparam``/``AutoReparam`` leave it as is, and
    ``StableReparam`` / ``LatentStableReparam`` / ``SymmetricStableReparam`` refuse it."""
