r"""Non-normalized Gamma-Gaussian factors: Gaussians whose precision is scaled by a shared
positive variable ``s``, the algebra behind :class:`~pyro.distributions.GammaGaussianHMM`
(a linear-Gaussian state space model whose noise is jointly Student-t).

A :class:`GammaGaussian` over ``(x, s)`` with ``x`` of size ``n`` is the log density

.. math:: \log g(x, s) = c + \alpha \log s - \beta s
          + s\,(x^\top \eta - \tfrac12 x^\top \Lambda x)

with ``log_normalizer`` :math:`c`, ``alpha``, ``beta``, ``info_vec`` :math:`\eta` and
``precision`` :math:`\Lambda`. Integrating ``x`` out leaves a :class:`Gamma` factor in
``s``; integrating ``s`` out leaves a multivariate Student-t in ``x``
(:meth:`GammaGaussian.compound`).

**References**

[1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
    Smoothers", IEEE Transactions on Automatic Control 66(1).
[2] F. Tronarp, T. Karvonen, S. Särkkä (2019), "Student's t-filters for noise scale
    estimation", IEEE Signal Processing Letters 26(2).
[3] A. Shah, A. G. Wilson, Z. Ghahramani (2014), "Student-t Processes as Alternatives to
    Gaussian Processes", AISTATS (the Gamma scale mixture of Gaussians).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pyro.ops.gaussian import (
    _LOG_2PI,
    _batch_dim,
    _cholesky_parts,
    _condition_parts,
    _contract_blocks,
    _index_event,
    _marginalize,
    _mvn_parts,
    _schur_parts,
    _sequential_tensordot,
)
from pyro.ops.tensor_utils import matvecmul, precision_to_scale_tril, triangular_solve
from pyro.primitive_distributions.util import broadcast_shape

__all__ = [
    "Gamma",
    "GammaGaussian",
    "gamma_and_mvn_to_gamma_gaussian",
    "gamma_gaussian_tensordot",
    "matrix_and_mvn_to_gamma_gaussian",
    "scale_mvn",
    "sequential_gamma_gaussian_tensordot",
]


class Gamma:
    r"""Non-normalized Gamma factor :math:`c + (\mathrm{concentration} - 1) \log s -
    \mathrm{rate}\, s` in a positive variable ``s``.

    :param torch.Tensor log_normalizer: the constant :math:`c`.
    :param torch.Tensor concentration: positive shape parameter.
    :param torch.Tensor rate: positive rate parameter.
    """

    def __init__(
        self, log_normalizer: torch.Tensor, concentration: torch.Tensor, rate: torch.Tensor
    ) -> None:
        self.log_normalizer = log_normalizer
        self.concentration = concentration
        self.rate = rate

    @property
    def batch_shape(self) -> torch.Size:
        return broadcast_shape(self.log_normalizer.shape, self.concentration.shape, self.rate.shape)

    def log_density(self, s: torch.Tensor) -> torch.Tensor:
        """The log factor at ``s`` (broadcasting with the batch shape)."""
        return self.log_normalizer + (self.concentration - 1) * s.log() - self.rate * s

    def logsumexp(self) -> torch.Tensor:
        r"""Integrate over ``s > 0``: :math:`c + \log\Gamma(a) - a \log r`."""
        a = self.concentration
        return self.log_normalizer + torch.lgamma(a) - a * self.rate.log()


class GammaGaussian:
    r"""Non-normalized Gamma-Gaussian factor
    :math:`c + \alpha \log s - \beta s + s\,(x^\top \eta - \frac12 x^\top \Lambda x)` over a
    real vector ``x`` of size ``dim()`` and a positive scale ``s``.

    ``alpha`` and ``beta`` reparameterize the Gamma that remains after integrating ``x``
    out: its concentration is ``alpha - dim/2 + 1`` and its rate
    ``beta - info_vec^T precision^{-1} info_vec / 2`` (see :meth:`event_logsumexp`).

    :param torch.Tensor log_normalizer: constant :math:`c`, shape ``batch_shape``.
    :param torch.Tensor info_vec: :math:`\eta`, shape ``batch_shape + (dim,)``.
    :param torch.Tensor precision: :math:`\Lambda`, shape ``batch_shape + (dim, dim)``.
    :param torch.Tensor alpha: the power of ``s``, shape ``batch_shape``.
    :param torch.Tensor beta: the rate of ``s``, shape ``batch_shape``.
    :raises ValueError: if ``precision`` is not square of ``info_vec``'s size.
    """

    def __init__(
        self,
        log_normalizer: torch.Tensor,
        info_vec: torch.Tensor,
        precision: torch.Tensor,
        alpha: torch.Tensor,
        beta: torch.Tensor,
    ) -> None:
        n = info_vec.size(-1)
        if precision.dim() < 2 or precision.shape[-2:] != (n, n):
            raise ValueError(
                f"GammaGaussian precision must have shape (..., {n}, {n}) to match info_vec of "
                f"shape {tuple(info_vec.shape)}, got {tuple(precision.shape)}"
            )
        self.log_normalizer = log_normalizer
        self.info_vec = info_vec
        self.precision = precision
        self.alpha = alpha
        self.beta = beta

    def dim(self) -> int:
        return self.info_vec.size(-1)

    @property
    def batch_shape(self) -> torch.Size:
        return broadcast_shape(
            self.log_normalizer.shape,
            self.info_vec.shape[:-1],
            self.precision.shape[:-2],
            self.alpha.shape,
            self.beta.shape,
        )

    def _map(self, scalar, vec, mat) -> GammaGaussian:
        return GammaGaussian(
            scalar(self.log_normalizer),
            vec(self.info_vec),
            mat(self.precision),
            scalar(self.alpha),
            scalar(self.beta),
        )

    def expand(self, batch_shape: Sequence[int]) -> GammaGaussian:
        b = torch.Size(batch_shape)
        n = self.dim()
        return self._map(
            lambda t: t.expand(b), lambda t: t.expand(b + (n,)), lambda t: t.expand(b + (n, n))
        )

    def reshape(self, batch_shape: Sequence[int]) -> GammaGaussian:
        b = torch.Size(batch_shape)
        n = self.dim()
        return self.expand(self.batch_shape)._map(
            lambda t: t.reshape(b), lambda t: t.reshape(b + (n,)), lambda t: t.reshape(b + (n, n))
        )

    def __getitem__(self, index) -> GammaGaussian:
        i = _index_event(index)
        return self.expand(self.batch_shape)._map(
            lambda t: t[i],
            lambda t: t[i + (slice(None),)],
            lambda t: t[i + (slice(None), slice(None))],
        )

    @staticmethod
    def cat(parts: Sequence[GammaGaussian], dim: int = 0) -> GammaGaussian:
        """Concatenate along batch dim ``dim``."""
        parts = [p.expand(p.batch_shape) for p in parts]
        return GammaGaussian(
            torch.cat([p.log_normalizer for p in parts], dim=dim),
            torch.cat([p.info_vec for p in parts], dim=_batch_dim(dim, 1)),
            torch.cat([p.precision for p in parts], dim=_batch_dim(dim, 2)),
            torch.cat([p.alpha for p in parts], dim=dim),
            torch.cat([p.beta for p in parts], dim=dim),
        )

    def event_pad(self, left: int = 0, right: int = 0) -> GammaGaussian:
        """Add ``left`` / ``right`` variables on which the factor is constant."""
        lr = (left, right)
        return GammaGaussian(
            self.log_normalizer,
            torch.nn.functional.pad(self.info_vec, lr),
            torch.nn.functional.pad(self.precision, lr + lr),
            self.alpha,
            self.beta,
        )

    def event_permute(self, perm: torch.Tensor | Sequence[int]) -> GammaGaussian:
        """Reorder the ``x`` variables: the result's variable ``i`` is this one's
        ``perm[i]``."""
        perm = torch.as_tensor(perm, dtype=torch.long, device=self.info_vec.device)
        return GammaGaussian(
            self.log_normalizer,
            self.info_vec[..., perm],
            self.precision[..., perm][..., perm, :],
            self.alpha,
            self.beta,
        )

    def __add__(self, other: GammaGaussian | torch.Tensor | float) -> GammaGaussian:
        """Product of factors sharing ``s`` (a tensor or number adds to the normalizer)."""
        if isinstance(other, GammaGaussian):
            if other.dim() != self.dim():
                raise ValueError(
                    f"cannot add GammaGaussians over {self.dim()} and {other.dim()} variables; "
                    "use event_pad to align them"
                )
            return GammaGaussian(
                self.log_normalizer + other.log_normalizer,
                self.info_vec + other.info_vec,
                self.precision + other.precision,
                self.alpha + other.alpha,
                self.beta + other.beta,
            )
        if isinstance(other, (torch.Tensor, int, float)):
            return GammaGaussian(
                self.log_normalizer + other, self.info_vec, self.precision, self.alpha, self.beta
            )
        return NotImplemented

    __radd__ = __add__

    def log_density(self, value: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The log factor at ``x = value`` (shape ``... + (dim,)``) and scale ``s``."""
        if value.size(-1) == 0:
            quad = value.new_zeros(value.shape[:-1])
        else:
            quad = (value * (self.info_vec - 0.5 * matvecmul(self.precision, value))).sum(-1)
        return self.log_normalizer + self.alpha * s.log() - self.beta * s + s * quad

    def condition(self, value: torch.Tensor) -> GammaGaussian:
        """Fix the trailing ``value.size(-1)`` variables of ``x``; returns a factor over
        the leading ones (``alpha`` unchanged, the fixed quadratic moves into ``beta``)."""
        info, precision, quad, batch = _condition_parts(self, value)
        return GammaGaussian(
            self.log_normalizer.expand(batch),
            info.expand(batch + info.shape[-1:]),
            precision,
            self.alpha.expand(batch),
            (self.beta - quad).expand(batch),
        )

    def marginalize(self, left: int = 0, right: int = 0) -> GammaGaussian:
        """Integrate out the leading ``left`` and trailing ``right`` variables of ``x``
        (for every ``s``); each removes ``1/2`` from ``alpha``."""
        return _marginalize(self, left, right, self._eliminate_right)

    def _eliminate_right(self, right: int) -> GammaGaussian:
        info, precision, half_logdet, half_white_sq = _schur_parts(
            self.precision, self.info_vec, right)
        # The integral of exp(s * quadratic) over b is
        # (2 pi / s)^{b/2} |P_bb|^{-1/2} exp(s/2 |L^{-1}(eta_b - P_ba x_a)|^2).
        return GammaGaussian(
            self.log_normalizer + 0.5 * right * _LOG_2PI - half_logdet,
            info,
            precision,
            self.alpha - 0.5 * right,
            self.beta - half_white_sq,
        )

    def event_logsumexp(self) -> Gamma:
        """Integrate over all of ``x``: the :class:`Gamma` factor left in ``s``."""
        g = self.marginalize(right=self.dim())
        return Gamma(g.log_normalizer, g.alpha + 1, g.beta)

    def compound(self):
        """Integrate ``s`` out of the normalized factor: the multivariate Student-t of ``x``
        (``df = 2 * concentration``, ``loc = precision^{-1} info_vec``, scale
        ``(rate / concentration) * precision^{-1}``), as a
        :class:`~pyro.distributions.MultivariateStudentT` (needs pyro-distributions)."""
        import pyro

        gamma = self.event_logsumexp()
        concentration, rate = gamma.concentration, gamma.rate
        L, white, _ = _cholesky_parts(self.precision, self.info_vec)
        loc = triangular_solve(white.unsqueeze(-1), L, transpose=True).squeeze(-1)
        scale_tril = precision_to_scale_tril(self.precision)
        scale_tril = scale_tril * (rate / concentration).sqrt()[..., None, None]
        return pyro.distributions.MultivariateStudentT(2 * concentration, loc, scale_tril)


def gamma_gaussian_tensordot(x: GammaGaussian, y: GammaGaussian, dims: int = 0) -> GammaGaussian:
    r"""Integrate shared variables out of a product sharing ``s``:
    :math:`(x \otimes y)(a, c, s) = \log \int \exp(x(a, b, s) + y(b, c, s))\, db`.

    :param x: a factor over ``(a, b)``.
    :param y: a factor over ``(b, c)``.
    :param dims: the size of ``b``.
    :returns: a factor over ``(a, c)``.
    """
    if dims < 0 or dims > min(x.dim(), y.dim()):
        raise ValueError(f"dims={dims} out of range for factors over {x.dim()} and {y.dim()}")
    if dims == 0:
        return x.event_pad(right=y.dim()) + y.event_pad(left=x.dim())
    parts = _contract_blocks(x, y, dims)
    # The integral over b is (2 pi / s)^{b/2} |P_bb|^{-1/2} exp(s/2 |L^{-1} eta_b(a, c)|^2).
    return GammaGaussian(
        x.log_normalizer + y.log_normalizer + parts.const,
        parts.info,
        parts.precision,
        x.alpha + y.alpha - 0.5 * dims,
        x.beta + y.beta - 0.5 * parts.white.pow(2).sum(-1),
    )


def sequential_gamma_gaussian_tensordot(gamma_gaussian: GammaGaussian) -> GammaGaussian:
    """Contract a Markov chain of Gamma-Gaussian transition factors (time the rightmost
    batch dim, ``2 * state_dim`` variables) by a pairwise parallel scan: the factor over
    ``(x_0, x_T)`` (and ``s``), in ``ceil(log2 T)`` batched steps.

    **References**

    [1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
        Smoothers", IEEE Transactions on Automatic Control 66(1).
    """
    return _sequential_tensordot(
        gamma_gaussian, "sequential_gamma_gaussian_tensordot", gamma_gaussian_tensordot
    )


def _mvn_info(mvn):
    loc, precision, half_logdet = _mvn_parts(mvn)
    info = matvecmul(precision, loc)
    return loc, precision, info, half_logdet


def gamma_and_mvn_to_gamma_gaussian(gamma, mvn) -> GammaGaussian:
    """The joint of ``s ~ gamma`` and ``x | s ~ MultivariateNormal(loc, cov / s)`` as a
    :class:`GammaGaussian`.

    :param gamma: a :class:`~torch.distributions.Gamma`, batch shape broadcastable with
        ``mvn``'s.
    :param mvn: a MultivariateNormal (or ``Normal(...).to_event(1)``), event shape ``(n,)``.
    :returns: a normalized factor over ``(x, s)``.
    """
    loc, precision, info, half_logdet = _mvn_info(mvn)
    n = loc.size(-1)
    c, r = gamma.concentration, gamma.rate
    batch = broadcast_shape(gamma.batch_shape, mvn.batch_shape)
    log_normalizer = -0.5 * n * _LOG_2PI - half_logdet + c * r.log() - torch.lgamma(c)
    return GammaGaussian(
        log_normalizer.expand(batch),
        info.expand(batch + (n,)),
        precision.expand(batch + (n, n)),
        (c - 1 + 0.5 * n).expand(batch),
        (r + 0.5 * (info * loc).sum(-1)).expand(batch),
    )


def matrix_and_mvn_to_gamma_gaussian(matrix: torch.Tensor, mvn) -> GammaGaussian:
    """The noisy affine map ``y = x @ matrix + noise`` with ``noise | s ~
    MultivariateNormal(mvn.loc, mvn.covariance_matrix / s)`` as a :class:`GammaGaussian`
    over ``(x, y)``.

    :param matrix: shape ``batch_shape + (x_dim, y_dim)``.
    :param mvn: the noise at ``s = 1``, event shape ``(y_dim,)``.
    """
    loc, precision, info, half_logdet = _mvn_info(mvn)
    x_dim, y_dim = matrix.shape[-2:]
    if loc.size(-1) != y_dim:
        raise ValueError(
            f"matrix of shape {tuple(matrix.shape)} maps to {y_dim} variables but mvn has event "
            f"shape {tuple(mvn.event_shape)}"
        )
    eye = torch.eye(y_dim, dtype=matrix.dtype, device=matrix.device)
    A = torch.cat([-matrix, eye.expand(matrix.shape[:-2] + (y_dim, y_dim))], -2)
    batch = broadcast_shape(matrix.shape[:-2], mvn.batch_shape)
    n = x_dim + y_dim
    return GammaGaussian(
        (-0.5 * y_dim * _LOG_2PI - half_logdet).expand(batch),
        matvecmul(A, info).expand(batch + (n,)),
        (A @ precision @ A.mT).expand(batch + (n, n)),
        loc.new_full(batch, 0.5 * y_dim),
        (0.5 * (info * loc).sum(-1)).expand(batch),
    )


def scale_mvn(mvn, s: torch.Tensor | float):
    """The MultivariateNormal with precision scaled by ``s``: ``MultivariateNormal(loc,
    covariance_matrix / s)``, of the same class as ``mvn``.

    :param mvn: a :class:`~torch.distributions.MultivariateNormal`.
    :param s: positive scale(s), broadcasting with ``mvn.batch_shape``.
    """
    if not isinstance(mvn, torch.distributions.MultivariateNormal):
        raise ValueError(f"scale_mvn expects a MultivariateNormal, got {type(mvn).__name__}")
    s = torch.as_tensor(s, dtype=mvn.loc.dtype, device=mvn.loc.device)
    scale_tril = mvn.scale_tril * s.rsqrt()[..., None, None]
    loc = mvn.loc.expand(scale_tril.shape[:-1])
    return type(mvn)(loc, scale_tril=scale_tril)
