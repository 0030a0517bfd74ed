"""Corrections of torch families, mixed into the generated wrappers of :mod:`.torch`.

Each class here overrides only the faulty methods of one torch family (found by this
package's tests against scipy and Monte Carlo); the rest of the family is torch's.
"""
from __future__ import annotations

import torch
from torch.distributions import Beta, GeneralizedPareto, LKJCholesky, TransformedDistribution
from torch.distributions.transforms import Transform

__all__ = ["FIXES"]


class _LKJCholeskyFix(LKJCholesky):
    """torch's onion-method sampler draws row ``i`` (``i >= 2``) with
    ``y ~ Beta(i - 1/2, .)`` where the method needs ``Beta(i/2, .)``: its correlations are
    too large for ``dim >= 3`` (e.g. Var(C[0, 2]) is 0.30 instead of 0.25 for the uniform
    3x3 case). ``log_prob`` is right; this draws from it.

    **References**

    [1] Lewandowski, Kurowicka, Joe (2009), *Generating random correlation matrices based on
    vines and extended onion method*, J. Multivariate Analysis 100(9), Sec. 3.2.
    """

    def sample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        eta = self.concentration
        d = self.dim
        i = torch.arange(1, d, dtype=eta.dtype, device=eta.device)
        # row i (i >= 1) of the factor is sqrt(y_i) * (uniform direction in R^i),
        # y_i ~ Beta(i/2, eta + (d - 2)/2 - (i - 1)/2)
        conc1 = (i / 2).expand(eta.shape + i.shape)
        conc0 = eta.unsqueeze(-1) + (d - 2) / 2 - (i - 1) / 2
        with torch.no_grad():
            y = Beta(conc1, conc0).sample(sample_shape)
            y = torch.cat([y.new_zeros(y.shape[:-1] + (1,)), y], -1).unsqueeze(-1)
            u = torch.randn(shape, dtype=eta.dtype, device=eta.device).tril(-1)
            u = u / u.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(eta.dtype).tiny)
            w = y.sqrt() * u
            diag = (1 - w.pow(2).sum(-1)).clamp_min(torch.finfo(eta.dtype).tiny).sqrt()
            return w + torch.diag_embed(diag)


class _GeneralizedParetoFix(GeneralizedPareto):
    """torch compares ``concentration`` with a float32 ``torch.tensor(0.0)``, which fails
    for float64 parameters; same formulas, with a zero of the parameters' dtype/device."""

    def _zero_parts(self):
        c = self.concentration
        eq_zero = torch.isclose(c, torch.zeros_like(c))
        return eq_zero, torch.where(eq_zero, torch.ones_like(c), c)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        eq_zero, safe_c = self._zero_parts()
        y = 1 / safe_c + torch.ones_like(z)
        nonzero = torch.where(y == 0, y, y * torch.log1p(safe_c * z))
        return -self.scale.log() - torch.where(eq_zero, z, nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        eq_zero, safe_c = self._zero_parts()
        return torch.where(eq_zero, -z, -torch.log1p(safe_c * z) / safe_c)


def _clear_transform_cache(t: Transform) -> None:
    t._cached_x_y = None, None
    for part in getattr(t, "parts", ()):  # ComposeTransform
        _clear_transform_cache(part)
    inner = getattr(t, "base_transform", None)  # IndependentTransform
    if inner is not None:
        _clear_transform_cache(inner)


class _TransformedDistributionFix(TransformedDistribution):
    """Pyro's ``TransformedDistribution.clear_cache``, which torch lacks."""

    def clear_cache(self) -> None:
        """Forget the ``(x, y)`` pair each transform cached. Call it after each optimizer
        step when a flow scores the same data tensor repeatedly: otherwise ``log_prob``
        reuses the inverse computed (with the old parameters and a freed graph) at the
        previous step."""
        for t in self.transforms:
            _clear_transform_cache(t)


FIXES = {
    "LKJCholesky": _LKJCholeskyFix,
    "GeneralizedPareto": _GeneralizedParetoFix,
    "TransformedDistribution": _TransformedDistributionFix,
}
