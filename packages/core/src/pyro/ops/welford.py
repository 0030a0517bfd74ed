"""Running (co)variance estimates by Welford's algorithm, for mass matrix adaptation.

**References**

- B. P. Welford (1962), "Note on a method for calculating corrected sums of squares and
  products", Technometrics 4(3).
- Stan Development Team, "Stan Reference Manual", "HMC algorithm parameters" (the
  regularization of the estimated metric towards ``1e-3 * I``).
"""
from __future__ import annotations

import torch

from .arrowhead import SymmArrowhead

__all__ = ["WelfordArrowheadCovariance", "WelfordCovariance"]


def _regularize(cov: torch.Tensor, n: int, diagonal: bool) -> torch.Tensor:
    """Stan's shrinkage ``n/(n+5) cov + 1e-3 * 5/(n+5) I``."""
    shrink = 1e-3 * 5.0 / (n + 5.0)
    cov = cov * (n / (n + 5.0))
    if diagonal:
        return cov + shrink
    return cov + shrink * torch.eye(cov.size(-1), dtype=cov.dtype, device=cov.device)


class WelfordCovariance:
    """Running mean and covariance of samples ``x`` shaped ``batch_shape + (D,)`` (a batch
    of independent estimates, e.g. one per chain; plain ``(D,)`` for one).

    :param bool diagonal: estimate the variances only (``batch_shape + (D,)``) instead of
        the covariance matrix (``batch_shape + (D, D)``).

    **References** Welford (1962); Stan Reference Manual (regularization).
    """

    def __init__(self, diagonal: bool = True) -> None:
        self.diagonal = diagonal
        self.reset()

    def reset(self) -> None:
        """Forget every sample."""
        self.n_samples = 0
        self._mean: torch.Tensor | None = None
        self._m2: torch.Tensor | None = None

    def update(self, sample: torch.Tensor) -> None:
        """Add one sample shaped ``batch_shape + (D,)``."""
        x = sample.detach()
        self.n_samples += 1
        if self._mean is None or self._m2 is None:
            self._mean = x.clone()
            shape = x.shape if self.diagonal else x.shape + x.shape[-1:]
            self._m2 = x.new_zeros(shape)
            return
        delta = x - self._mean
        self._mean.add_(delta, alpha=1.0 / self.n_samples)
        delta_after = x - self._mean
        if self.diagonal:
            self._m2.addcmul_(delta, delta_after)
        else:
            self._m2.add_(delta_after.unsqueeze(-1) * delta.unsqueeze(-2))

    def get_covariance(self, regularize: bool = True) -> torch.Tensor:
        """The unbiased sample (co)variance; with ``regularize`` shrunk as Stan does.

        :raises RuntimeError: with fewer than 2 samples.
        """
        if self.n_samples < 2 or self._m2 is None:
            raise RuntimeError(f"WelfordCovariance: need at least 2 samples to estimate a "
                               f"covariance, have {self.n_samples}")
        cov = self._m2 / (self.n_samples - 1)
        if regularize:
            cov = _regularize(cov, self.n_samples, self.diagonal)
        return cov


class WelfordArrowheadCovariance:
    """Running estimate of an arrowhead approximation of a covariance matrix: the first
    ``head_size`` rows (and, by symmetry, columns) are dense, the rest of the matrix is
    diagonal. Samples are shaped ``(D,)`` (or ``batch_shape + (D,)``).

    :param int head_size: number of leading coordinates with dense rows.

    **References** Welford (1962); Stan Reference Manual (regularization).
    """

    def __init__(self, head_size: int = 0) -> None:
        if int(head_size) < 0:
            raise ValueError(f"WelfordArrowheadCovariance: head_size must be >= 0, "
                             f"got {head_size}")
        self.head_size = int(head_size)
        self.reset()

    def reset(self) -> None:
        """Forget every sample."""
        self.n_samples = 0
        self._mean: torch.Tensor | None = None
        self._m2_top: torch.Tensor | None = None
        self._m2_diag: torch.Tensor | None = None

    def update(self, sample: torch.Tensor) -> None:
        """Add one sample shaped ``batch_shape + (D,)``."""
        x = sample.detach()
        h = self.head_size
        if h > x.size(-1):
            raise ValueError(f"WelfordArrowheadCovariance: head_size={h} exceeds the "
                             f"sample size {x.size(-1)}")
        self.n_samples += 1
        if self._mean is None or self._m2_top is None or self._m2_diag is None:
            self._mean = x.clone()
            self._m2_top = x.new_zeros(x.shape[:-1] + (h, x.size(-1)))
            self._m2_diag = x.new_zeros(x.shape)
            return
        delta = x - self._mean
        self._mean.add_(delta, alpha=1.0 / self.n_samples)
        delta_after = x - self._mean
        self._m2_top.add_(delta_after[..., :h].unsqueeze(-1) * delta.unsqueeze(-2))
        self._m2_diag.addcmul_(delta, delta_after)

    def get_covariance(self, regularize: bool = True) -> SymmArrowhead:
        """The arrowhead covariance: :class:`~pyro.ops.arrowhead.SymmArrowhead` with
        ``top`` shaped ``(head_size, D)`` and ``bottom_diag`` shaped ``(D - head_size,)``.

        :raises RuntimeError: with fewer than 2 samples.
        """
        n = self.n_samples
        if n < 2 or self._m2_top is None or self._m2_diag is None:
            raise RuntimeError(f"WelfordArrowheadCovariance: need at least 2 samples, "
                               f"have {n}")
        h = self.head_size
        top = self._m2_top / (n - 1)
        diag = self._m2_diag / (n - 1)
        if regularize:
            shrink = 1e-3 * 5.0 / (n + 5.0)
            top = top * (n / (n + 5.0))
            diag = diag * (n / (n + 5.0)) + shrink
            idx = torch.arange(h, device=top.device)
            top[..., idx, idx] = diag[..., :h]
        return SymmArrowhead(top, diag[..., h:])
