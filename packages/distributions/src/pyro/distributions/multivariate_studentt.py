"""The multivariate Student's t distribution."""
from __future__ import annotations

import math

import torch
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from .torch import Chi2
from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["MultivariateStudentT"]


class MultivariateStudentT(TorchDistribution):
    r"""Multivariate Student's t distribution with ``df`` degrees of freedom, location
    ``loc`` and scale factor ``scale_tril``: :math:`X = \mathrm{loc} + L Z
    \sqrt{\nu / W}` with :math:`Z \sim \mathcal N(0, I)`, :math:`W \sim \chi^2_\nu`.

    Density :math:`\frac{\Gamma((\nu+D)/2)}{\Gamma(\nu/2)(\nu\pi)^{D/2}|L|}
    (1 + \|L^{-1}(x - \mathrm{loc})\|^2/\nu)^{-(\nu+D)/2}`. Sampling is reparameterized
    (the :math:`\chi^2` draw is a Gamma ``rsample``).

    :param df: degrees of freedom :math:`\nu > 0`, shape broadcastable with the batch shape.
    :param loc: location, shape ``batch_shape + (D,)``.
    :param scale_tril: lower Cholesky factor :math:`L` of the scale matrix, shape
        ``batch_shape + (D, D)``.
    :raises ValueError: if ``loc`` is not at least one-dimensional, ``scale_tril`` not
        square of the size of ``loc``, or the batch shapes do not broadcast.

    Mean ``loc`` (NaN for :math:`\nu \le 1`); covariance :math:`L L^\top \nu/(\nu - 2)`
    (infinite for :math:`1 < \nu \le 2`, NaN for :math:`\nu \le 1`).
    """

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real_vector,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, df, loc, scale_tril, validate_args=None) -> None:
        loc = torch.as_tensor(loc)
        if loc.dim() < 1:
            raise ValueError("MultivariateStudentT: loc must be at least one-dimensional, "
                             f"got shape {tuple(loc.shape)}")
        dim = loc.size(-1)
        scale_tril = torch.as_tensor(scale_tril, dtype=loc.dtype, device=loc.device)
        if scale_tril.dim() < 2 or scale_tril.shape[-2:] != (dim, dim):
            raise ValueError(
                f"MultivariateStudentT: scale_tril must have shape (..., {dim}, {dim}) to "
                f"match loc of shape {tuple(loc.shape)}, got {tuple(scale_tril.shape)}")
        if not isinstance(df, torch.Tensor):
            df = torch.tensor(df, dtype=loc.dtype, device=loc.device)
        try:
            batch_shape = broadcast_shape(df.shape, loc.shape[:-1], scale_tril.shape[:-2])
        except ValueError:
            raise ValueError(
                f"MultivariateStudentT: df {tuple(df.shape)}, loc {tuple(loc.shape)} and "
                f"scale_tril {tuple(scale_tril.shape)} have incompatible batch shapes"
            ) from None
        self.df = df.expand(batch_shape)
        self.loc = loc.expand(batch_shape + (dim,))
        self.scale_tril = scale_tril.expand(batch_shape + (dim, dim))
        self._chi2 = Chi2(self.df)
        super().__init__(batch_shape, torch.Size((dim,)), validate_args=validate_args)

    @lazy_property
    def covariance_matrix(self) -> torch.Tensor:
        """The scale matrix :math:`L L^\\top` (not the covariance: see :attr:`variance`)."""
        return self.scale_tril @ self.scale_tril.transpose(-1, -2)

    @lazy_property
    def precision_matrix(self) -> torch.Tensor:
        """The inverse of :attr:`covariance_matrix`."""
        return torch.cholesky_inverse(self.scale_tril)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(MultivariateStudentT, _instance)
        new.df = self.df.expand(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new.scale_tril = self.scale_tril.expand(batch_shape + self.event_shape * 2)
        for name in ("covariance_matrix", "precision_matrix"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(batch_shape + self.event_shape * 2)
        new._chi2 = self._chi2.expand(batch_shape)
        TorchDistribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        z = torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        w = self._chi2.rsample(sample_shape) / self.df
        y = z * torch.rsqrt(w).unsqueeze(-1)
        return self.loc + (self.scale_tril @ y.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n = self.loc.size(-1)
        diff = (value - self.loc).unsqueeze(-1)
        shape = broadcast_shape(diff.shape, self.scale_tril.shape[:-1] + (1,))
        y = torch.linalg.solve_triangular(self.scale_tril.expand(shape[:-1] + (n,)),
                                          diff.expand(shape), upper=False).squeeze(-1)
        half_log_det = self.scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        df = self.df
        z = (torch.lgamma(0.5 * df) - torch.lgamma(0.5 * (df + n))
             + 0.5 * n * (df.log() + math.log(math.pi)) + half_log_det)
        return -0.5 * (df + n) * torch.log1p(y.pow(2).sum(-1) / df) - z

    @property
    def mean(self):
        nan = torch.full((), math.nan, dtype=self.loc.dtype, device=self.loc.device)
        return torch.where((self.df > 1).unsqueeze(-1), self.loc, nan)

    @property
    def variance(self):
        df = self.df.unsqueeze(-1)
        var = self.scale_tril.pow(2).sum(-1) * (df / (df - 2))
        inf = torch.full((), math.inf, dtype=var.dtype, device=var.device)
        var = torch.where(df <= 2, inf, var)
        return torch.where(df <= 1, inf * math.nan, var)
