"""The projected normal distribution on the unit sphere."""
from __future__ import annotations

import math

import torch

from . import constraints
from .torch_distribution import TorchDistribution

__all__ = ["ProjectedNormal"]


def _safe_normalize(x: torch.Tensor) -> torch.Tensor:
    """``x / |x|`` along the last dimension; the zero vector maps to ``(1, 0, ..., 0)``."""
    norm = x.norm(dim=-1, keepdim=True)
    tiny = torch.finfo(x.dtype).tiny
    unit = x / norm.clamp(min=tiny)
    first = torch.zeros_like(x)
    first[..., 0] = 1
    return torch.where(norm > tiny, unit, first)


def _log_radial_integral(t: torch.Tensor, dim: int) -> torch.Tensor:
    r"""``log \int_0^\infty r^{D-1} exp(-(r - t)^2 / 2) dr + t^2 / 2 * [t < 0]``.

    With :math:`M_k = \int_{-t}^\infty s^k e^{-s^2/2} ds` (``M_0 = \sqrt{2\pi}\Phi(t)``,
    ``M_1 = e^{-t^2/2}``, ``M_k = (k-1) M_{k-2} + (-t)^{k-1} e^{-t^2/2}``) the integral is
    :math:`\sum_k \binom{D-1}{k} t^{D-1-k} M_k`. For ``t >= 0`` every term is positive; for
    ``t < 0`` the ``M_k`` are scaled by :math:`e^{t^2/2}` (``M_0`` through ``erfcx``) so
    that nothing underflows.
    """
    neg = t < 0
    # scaled (t < 0) and unscaled (t >= 0) M_0, M_1
    m0_scaled = math.sqrt(math.pi / 2) * torch.special.erfcx(-t.clamp(max=0) / math.sqrt(2))
    m0_plain = math.sqrt(2 * math.pi) * torch.special.ndtr(t.clamp(min=0))
    gauss = torch.where(neg, torch.ones_like(t), torch.exp(-0.5 * t.clamp(min=0) ** 2))
    m = [torch.where(neg, m0_scaled, m0_plain), gauss]
    for k in range(2, dim):
        m.append((k - 1) * m[k - 2] + (-t) ** (k - 1) * gauss)
    total = t ** (dim - 1) * m[0]
    for k in range(1, dim):
        total = total + math.comb(dim - 1, k) * t ** (dim - 1 - k) * m[k]
    return total.log()


class ProjectedNormal(TorchDistribution):
    r"""Projected isotropic normal distribution of any dimension: :math:`X = Y / |Y|` with
    :math:`Y \sim \mathcal N(\mathrm{concentration}, I)`.

    A distribution over directions, qualitatively like the von Mises(-Fisher) family but
    with reparameterized samples (tractable variational inference). The direction of
    ``concentration`` is the location, its magnitude the concentration. For autoguides
    reparameterize with ``ProjectedNormalReparam`` (or ``MinimalReparam``).

    The density with respect to the surface measure of the sphere is
    :math:`(2\pi)^{-D/2} e^{-|\mu|^2/2} \int_0^\infty r^{D-1} e^{r\, x\cdot\mu - r^2/2} dr`,
    computed in closed form for every :math:`D \ge 2` (Pyro implements only
    :math:`D \in \{2, 3, 4\}`).

    :param concentration: shape ``batch_shape + (D,)``, ``D >= 2``.
    :raises ValueError: if ``concentration`` has no event dimension of size >= 2.

    ``mean`` and ``mode`` are, as in Pyro, the unit direction of ``concentration``.

    **References**

    [1] D. Hernandez-Stumpfhauser, F.J. Breidt, M.J. van der Woerd (2017), *The general
    projected normal distribution of arbitrary dimension: modeling and Bayesian inference*,
    Bayesian Analysis 12(1).
    """

    arg_constraints = {"concentration": constraints.real_vector}
    support = constraints.sphere
    has_rsample = True

    def __init__(self, concentration, validate_args=None) -> None:
        concentration = torch.as_tensor(concentration)
        if concentration.dim() < 1 or concentration.size(-1) < 2:
            raise ValueError("ProjectedNormal: concentration must have shape (..., D) with "
                             f"D >= 2, got {tuple(concentration.shape)}")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(ProjectedNormal, _instance)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        TorchDistribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return _safe_normalize(self.concentration)

    @property
    def mode(self):
        return _safe_normalize(self.concentration)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        noise = torch.randn(shape, dtype=self.concentration.dtype,
                            device=self.concentration.device)
        return _safe_normalize(self.concentration + noise)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        dim = self.event_shape[0]
        t = (value * self.concentration).sum(-1)
        sq = self.concentration.pow(2).sum(-1)
        # for t >= 0 the integral is unscaled: add back exp(t^2 / 2)
        shift = torch.where(t < 0, torch.zeros_like(t), 0.5 * t.clamp(min=0) ** 2)
        return -0.5 * dim * math.log(2 * math.pi) - 0.5 * sq + shift + _log_radial_integral(
            t, dim)
