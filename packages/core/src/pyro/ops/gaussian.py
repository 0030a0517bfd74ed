r"""Non-normalized Gaussian factors in information form, and the parallel-scan algebra on
them that Pyro's Gaussian hidden Markov models are built from.

A :class:`Gaussian` over a real vector :math:`x \in \mathbb R^n` is the log density

.. math:: \log g(x) = c + x^\top \eta - \tfrac12 x^\top \Lambda x

with ``log_normalizer`` :math:`c`, ``info_vec`` :math:`\eta` and ``precision``
:math:`\Lambda` (positive semidefinite: rank-deficient factors such as a likelihood
:math:`p(y \mid x)` seen as a function of ``x`` are allowed). Products of factors are sums
of the three parameters; integrating variables out (:meth:`Gaussian.marginalize`) and
fixing them (:meth:`Gaussian.condition`) stay in this family, so a chain of factors can be
contracted pairwise in :math:`O(\log T)` parallel depth
(:func:`sequential_gaussian_tensordot`).

Every tensor created here follows the inputs' device and dtype.

**References**

[1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
    Smoothers", IEEE Transactions on Automatic Control 66(1).
[2] C. M. Bishop (2006), "Pattern Recognition and Machine Learning", §2.3 (conditioning and
    marginalizing Gaussians in precision form).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from pyro.ops.tensor_utils import matvecmul, safe_cholesky, triangular_solve
from pyro.primitive_distributions.util import broadcast_shape

__all__ = [
    "AffineNormal",
    "Gaussian",
    "gaussian_tensordot",
    "matrix_and_gaussian_to_gaussian",
    "matrix_and_mvn_to_gaussian",
    "mvn_to_gaussian",
    "sequential_gaussian_filter_sample",
    "sequential_gaussian_tensordot",
]

_LOG_2PI = math.log(2 * math.pi)


def _index_event(index) -> tuple:
    """A batch index as a tuple (so that event dims can be appended to it)."""
    return index if isinstance(index, tuple) else (index,)


def _batch_dim(dim: int, event_dims: int) -> int:
    """A batch dim of a parameter with ``event_dims`` trailing event dims."""
    return dim - event_dims if dim < 0 else dim


def _cholesky_parts(precision: torch.Tensor, info_vec: torch.Tensor):
    """``L`` with ``L L^T = precision``, ``L^{-1} info`` and ``sum(log diag L)``."""
    L = safe_cholesky(precision)
    white = triangular_solve(info_vec.unsqueeze(-1), L).squeeze(-1)
    half_logdet = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return L, white, half_logdet


def _condition_parts(factor, value: torch.Tensor):
    """Fixing the trailing ``k = value.size(-1)`` variables of a (Gamma)Gaussian factor:
    ``(info_a, precision_aa, quad, batch)`` with ``quad = x_b (eta_b - P_bb x_b / 2)`` the
    constant that moves out and ``batch`` the broadcast batch shape."""
    n, k = factor.dim(), value.size(-1)
    if k > n:
        raise ValueError(f"cannot condition a {type(factor).__name__} over {n} variables "
                         f"on {k} values")
    a = n - k
    info = factor.info_vec[..., :a] - matvecmul(factor.precision[..., :a, a:], value)
    quad = (value * (factor.info_vec[..., a:]
                     - 0.5 * matvecmul(factor.precision[..., a:, a:], value))).sum(-1)
    batch = broadcast_shape(value.shape[:-1], factor.batch_shape)
    return info, factor.precision[..., :a, :a], quad, batch


def _marginalize(factor, left: int, right: int, eliminate_right):
    """Shared by the (Gamma)Gaussian ``marginalize``: validate, move the leading ``left``
    variables to the end, then ``eliminate_right(right)`` integrates out the trailing ones."""
    n = factor.dim()
    if left < 0 or right < 0 or left + right > n:
        raise ValueError(f"cannot marginalize left={left}, right={right} of {n} variables")
    if left == 0 and right == 0:
        return factor
    if left:
        perm = list(range(left, n)) + list(range(left))
        return factor.event_permute(perm).marginalize(right=left + right)
    return eliminate_right(right)


def _schur_parts(precision: torch.Tensor, info_vec: torch.Tensor, right: int):
    """Integrating the trailing ``right`` variables out of ``x^T eta - x^T P x / 2``:
    ``(info_a, precision_a, half_logdet, half_white_sq)``, where the integral is
    ``(2 pi)^{right/2} exp(-half_logdet + half_white_sq)`` times the new quadratic."""
    a = precision.size(-1) - right
    P_ab = precision[..., :a, a:]
    L, white, half_logdet = _cholesky_parts(precision[..., a:, a:], info_vec[..., a:])
    # With L L^T = P_bb: P_ab P_bb^{-1} (.) = (L^{-1} P_ba)^T L^{-1} (.)
    LinvPba = triangular_solve(P_ab.mT, L)
    return (info_vec[..., :a] - matvecmul(LinvPba.mT, white),
            precision[..., :a, :a] - LinvPba.mT @ LinvPba,
            half_logdet, 0.5 * white.pow(2).sum(-1))


class Gaussian:
    r"""Non-normalized Gaussian factor :math:`c + x^\top \eta - \frac12 x^\top \Lambda x`
    over a real vector of size ``dim()``, batched over ``batch_shape``.

    The precision may be singular (a rank-deficient factor such as a likelihood); only
    operations that integrate over all of a block need that block to be positive definite.

    :param torch.Tensor log_normalizer: the constant :math:`c`, shape ``batch_shape``
        (broadcastable); it keeps track of normalization through contractions.
    :param torch.Tensor info_vec: the information vector :math:`\eta = \Lambda\,\mu`, shape
        ``batch_shape + (dim,)``.
    :param torch.Tensor precision: the symmetric precision :math:`\Lambda`, shape
        ``batch_shape + (dim, dim)``.
    :raises ValueError: if ``precision`` is not square of ``info_vec``'s size.
    """

    def __init__(
        self, log_normalizer: torch.Tensor, info_vec: torch.Tensor, precision: torch.Tensor
    ) -> None:
        if info_vec.dim() < 1 or precision.dim() < 2:
            raise ValueError(
                f"Gaussian needs info_vec of shape batch_shape + (dim,) and precision of shape "
                f"batch_shape + (dim, dim), got {tuple(info_vec.shape)} and "
                f"{tuple(precision.shape)}"
            )
        n = info_vec.size(-1)
        if precision.shape[-2:] != (n, n):
            raise ValueError(
                f"Gaussian precision must have shape (..., {n}, {n}) to match info_vec of shape "
                f"{tuple(info_vec.shape)}, got {tuple(precision.shape)}"
            )
        self.log_normalizer = log_normalizer
        self.info_vec = info_vec
        self.precision = precision

    def dim(self) -> int:
        """The size ``n`` of the vector this factor is over."""
        return self.info_vec.size(-1)

    @property
    def batch_shape(self) -> torch.Size:
        return broadcast_shape(
            self.log_normalizer.shape, self.info_vec.shape[:-1], self.precision.shape[:-2]
        )

    def expand(self, batch_shape: Sequence[int]) -> Gaussian:
        """Expand (without copying) to ``batch_shape``."""
        batch_shape = torch.Size(batch_shape)
        n = self.dim()
        return Gaussian(
            self.log_normalizer.expand(batch_shape),
            self.info_vec.expand(batch_shape + (n,)),
            self.precision.expand(batch_shape + (n, n)),
        )

    def reshape(self, batch_shape: Sequence[int]) -> Gaussian:
        """Reshape the batch dims to ``batch_shape`` (same number of elements)."""
        batch_shape = torch.Size(batch_shape)
        n = self.dim()
        full = self.expand(self.batch_shape)
        return Gaussian(
            full.log_normalizer.reshape(batch_shape),
            full.info_vec.reshape(batch_shape + (n,)),
            full.precision.reshape(batch_shape + (n, n)),
        )

    def __getitem__(self, index) -> Gaussian:
        """Index the batch dims (the event dims are kept whole)."""
        index = _index_event(index)
        full = self.expand(self.batch_shape)
        return Gaussian(
            full.log_normalizer[index],
            full.info_vec[index + (slice(None),)],
            full.precision[index + (slice(None), slice(None))],
        )

    @staticmethod
    def cat(parts: Sequence[Gaussian], dim: int = 0) -> Gaussian:
        """Concatenate factors along batch dim ``dim`` (their other batch dims must agree
        after broadcasting)."""
        parts = [p.expand(p.batch_shape) for p in parts]
        return Gaussian(
            torch.cat([p.log_normalizer for p in parts], dim=dim),
            torch.cat([p.info_vec for p in parts], dim=_batch_dim(dim, 1)),
            torch.cat([p.precision for p in parts], dim=_batch_dim(dim, 2)),
        )

    def event_pad(self, left: int = 0, right: int = 0) -> Gaussian:
        """Extend the vector by ``left`` leading and ``right`` trailing variables on which
        the factor is constant (zero info and precision)."""
        lr = (left, right)
        return Gaussian(
            self.log_normalizer,
            torch.nn.functional.pad(self.info_vec, lr),
            torch.nn.functional.pad(self.precision, lr + lr),
        )

    def event_permute(self, perm: torch.Tensor | Sequence[int]) -> Gaussian:
        """Reorder the variables: the result's variable ``i`` is this one's ``perm[i]``."""
        perm = torch.as_tensor(perm, dtype=torch.long, device=self.info_vec.device)
        return Gaussian(
            self.log_normalizer,
            self.info_vec[..., perm],
            self.precision[..., perm][..., perm, :],
        )

    def __add__(self, other: Gaussian | torch.Tensor | float) -> Gaussian:
        """Product of factors (sum of log densities); a tensor or number is added to the
        log normalizer."""
        if isinstance(other, Gaussian):
            if other.dim() != self.dim():
                raise ValueError(
                    f"cannot add Gaussians over {self.dim()} and {other.dim()} variables; "
                    "use event_pad to align them"
                )
            return Gaussian(
                self.log_normalizer + other.log_normalizer,
                self.info_vec + other.info_vec,
                self.precision + other.precision,
            )
        if isinstance(other, (torch.Tensor, int, float)):
            return Gaussian(self.log_normalizer + other, self.info_vec, self.precision)
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: torch.Tensor | float) -> Gaussian:
        """Subtract a tensor or number from the log normalizer."""
        if isinstance(other, (torch.Tensor, int, float)):
            return Gaussian(self.log_normalizer - other, self.info_vec, self.precision)
        return NotImplemented

    def log_density(self, value: torch.Tensor) -> torch.Tensor:
        """Evaluate the log factor at ``value`` of shape ``... + (dim,)``; returns shape
        ``broadcast(value.shape[:-1], batch_shape)``."""
        if value.size(-1) == 0:
            shape = broadcast_shape(value.shape[:-1], self.batch_shape)
            return self.log_normalizer.expand(shape)
        quad = matvecmul(self.precision, value)
        result = (value * (self.info_vec - 0.5 * quad)).sum(-1)
        return result + self.log_normalizer

    def rsample(
        self, sample_shape: Sequence[int] = torch.Size(), noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Reparameterized draw from the normalized distribution
        :math:`\\mathcal N(\\Lambda^{-1}\\eta, \\Lambda^{-1})` (the precision must be positive
        definite).

        :param sample_shape: leading sample dims.
        :param noise: optional standard normal noise of shape
            ``sample_shape + batch_shape + (dim,)``.
        :returns: a tensor of shape ``sample_shape + batch_shape + (dim,)``.
        """
        sample_shape = torch.Size(sample_shape)
        L, white, _ = _cholesky_parts(self.precision, self.info_vec)
        shape = sample_shape + self.batch_shape + (self.dim(),)
        if noise is None:
            noise = torch.randn(shape, dtype=self.info_vec.dtype, device=self.info_vec.device)
        # x = L^{-T} (L^{-1} eta + eps): mean Lambda^{-1} eta, covariance (L L^T)^{-1}.
        rhs = (white + noise).unsqueeze(-1)
        return triangular_solve(rhs, L, transpose=True).squeeze(-1).expand(shape)

    def condition(self, value: torch.Tensor) -> Gaussian:
        """Fix the trailing ``value.size(-1)`` variables at ``value``; returns a factor
        over the leading ``dim() - value.size(-1)`` variables, batched over
        ``broadcast(value.shape[:-1], batch_shape)``."""
        info, precision, const, batch = _condition_parts(self, value)
        return Gaussian(
            (self.log_normalizer + const).expand(batch),
            info.expand(batch + info.shape[-1:]),
            precision,
        )

    def left_condition(self, value: torch.Tensor) -> Gaussian:
        """Fix the leading ``value.size(-1)`` variables at ``value``; returns a factor over
        the trailing variables."""
        n, k = self.dim(), value.size(-1)
        if k > n:
            raise ValueError(f"cannot condition a Gaussian over {n} variables on {k} values")
        perm = list(range(k, n)) + list(range(k))
        return self.event_permute(perm).condition(value)

    def marginalize(self, left: int = 0, right: int = 0) -> Gaussian:
        """Integrate out the leading ``left`` and trailing ``right`` variables (that block of
        the precision must be positive definite); returns a factor over the middle ones."""
        return _marginalize(self, left, right, self._eliminate_right)

    def _eliminate_right(self, right: int) -> Gaussian:
        info, precision, half_logdet, half_white_sq = _schur_parts(
            self.precision, self.info_vec, right)
        log_normalizer = self.log_normalizer + 0.5 * right * _LOG_2PI - half_logdet + half_white_sq
        return Gaussian(log_normalizer, info, precision)

    def event_logsumexp(self) -> torch.Tensor:
        """Integrate over all variables: :math:`\\log \\int \\exp g(x)\\,dx`, shape
        ``batch_shape`` (the precision must be positive definite)."""
        n = self.dim()
        if n == 0:
            return self.log_normalizer.expand(self.batch_shape)
        _, white, half_logdet = _cholesky_parts(self.precision, self.info_vec)
        return self.log_normalizer + 0.5 * n * _LOG_2PI - half_logdet + 0.5 * white.pow(2).sum(-1)


class AffineNormal:
    r"""Conditional diagonal normal :math:`p(y \mid x) = \mathcal N(y;\ x\,M + \mathrm{loc},\
    \mathrm{diag}(\mathrm{scale}^2))`, a cheaper stand-in for the :class:`Gaussian` over the
    concatenation ``(x, y)`` given by :meth:`to_gaussian`.

    ``AffineNormal(matrix, loc, scale).condition(y).log_density(x)`` equals
    ``Normal(x @ matrix + loc, scale).to_event(1).log_prob(y)``.

    :param torch.Tensor matrix: shape ``batch_shape + (x_dim, y_dim)``.
    :param torch.Tensor loc: shape ``batch_shape + (y_dim,)``.
    :param torch.Tensor scale: positive, shape ``batch_shape + (y_dim,)``.
    """

    def __init__(self, matrix: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> None:
        y_dim = matrix.size(-1)
        if loc.size(-1) != y_dim or scale.size(-1) != y_dim:
            raise ValueError(
                f"AffineNormal: matrix {tuple(matrix.shape)}, loc {tuple(loc.shape)} and scale "
                f"{tuple(scale.shape)} must agree on the rightmost (y_dim) size"
            )
        self.matrix = matrix
        self.loc = loc
        self.scale = scale

    def dim(self) -> int:
        """``x_dim + y_dim``, the size of the joint vector of :meth:`to_gaussian`."""
        return self.matrix.size(-2) + self.matrix.size(-1)

    @property
    def batch_shape(self) -> torch.Size:
        return broadcast_shape(self.matrix.shape[:-2], self.loc.shape[:-1], self.scale.shape[:-1])

    def condition(self, value: torch.Tensor) -> Gaussian:
        """Fix ``y = value`` (shape ``... + (y_dim,)``); returns the likelihood of ``x`` as
        a :class:`Gaussian` over ``x_dim`` variables."""
        prec_diag = self.scale.pow(-2)
        r = value - self.loc
        weighted = self.matrix * prec_diag.unsqueeze(-2)  # M diag(1/scale^2)
        precision = weighted @ self.matrix.mT
        info = matvecmul(weighted, r)
        log_normalizer = (
            -0.5 * (r * r * prec_diag).sum(-1)
            - self.scale.log().sum(-1)
            - 0.5 * self.matrix.size(-1) * _LOG_2PI
        )
        batch = broadcast_shape(value.shape[:-1], self.batch_shape)
        x_dim = self.matrix.size(-2)
        return Gaussian(
            log_normalizer.expand(batch),
            info.expand(batch + (x_dim,)),
            precision.expand(batch + (x_dim, x_dim)),
        )

    def left_condition(self, value: torch.Tensor) -> AffineNormal:
        """Fix ``x = value`` (shape ``... + (x_dim,)``); returns an :class:`AffineNormal`
        over ``y`` with an empty ``x``."""
        loc = matvecmul(self.matrix.mT, value) + self.loc
        matrix = self.matrix.new_zeros(loc.shape[:-1] + (0, loc.size(-1)))
        return AffineNormal(matrix, loc, self.scale.expand(loc.shape))

    def rsample(
        self, sample_shape: Sequence[int] = torch.Size(), noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Draw ``y`` once ``x`` has been fixed (``x_dim == 0``, e.g. after
        :meth:`left_condition`); shape ``sample_shape + batch_shape + (y_dim,)``.

        :raises ValueError: if ``x`` is not yet fixed (the distribution is conditional).
        """
        if self.matrix.size(-2) != 0:
            raise ValueError(
                "AffineNormal.rsample needs a value of x: call left_condition(x) first"
            )
        shape = torch.Size(sample_shape) + self.batch_shape + (self.matrix.size(-1),)
        if noise is None:
            noise = torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + self.scale * noise

    def to_gaussian(self) -> Gaussian:
        """The joint factor over ``(x, y)`` as a :class:`Gaussian` of ``x_dim + y_dim``."""
        prec_diag = self.scale.pow(-2)
        y_dim = self.matrix.size(-1)
        eye = torch.eye(y_dim, dtype=prec_diag.dtype, device=prec_diag.device)
        # y - x M = z A with z = (x, y) and A = [-M; I].
        A = torch.cat([-self.matrix, eye.expand(self.matrix.shape[:-2] + (y_dim, y_dim))], -2)
        precision = (A * prec_diag.unsqueeze(-2)) @ A.mT
        info = matvecmul(A, self.loc * prec_diag)
        log_normalizer = (
            -0.5 * (self.loc.pow(2) * prec_diag).sum(-1)
            - self.scale.log().sum(-1)
            - 0.5 * y_dim * _LOG_2PI
        )
        batch = self.batch_shape
        n = self.dim()
        return Gaussian(
            log_normalizer.expand(batch),
            info.expand(batch + (n,)),
            precision.expand(batch + (n, n)),
        )

    def expand(self, batch_shape: Sequence[int]) -> AffineNormal:
        batch_shape = torch.Size(batch_shape)
        return AffineNormal(
            self.matrix.expand(batch_shape + self.matrix.shape[-2:]),
            self.loc.expand(batch_shape + self.loc.shape[-1:]),
            self.scale.expand(batch_shape + self.scale.shape[-1:]),
        )

    def reshape(self, batch_shape: Sequence[int]) -> AffineNormal:
        batch_shape = torch.Size(batch_shape)
        full = self.expand(self.batch_shape)
        return AffineNormal(
            full.matrix.reshape(batch_shape + self.matrix.shape[-2:]),
            full.loc.reshape(batch_shape + self.loc.shape[-1:]),
            full.scale.reshape(batch_shape + self.scale.shape[-1:]),
        )

    def __getitem__(self, index) -> AffineNormal:
        index = _index_event(index)
        full = self.expand(self.batch_shape)
        return AffineNormal(
            full.matrix[index + (slice(None), slice(None))],
            full.loc[index + (slice(None),)],
            full.scale[index + (slice(None),)],
        )

    def event_permute(self, perm: torch.Tensor | Sequence[int]) -> Gaussian:
        """Reorder the joint ``(x, y)`` variables (the result is a :class:`Gaussian`)."""
        return self.to_gaussian().event_permute(perm)

    def __add__(self, other: Gaussian | torch.Tensor | float) -> Gaussian:
        """Product with a factor over ``(x, y)`` (or a constant): a :class:`Gaussian`."""
        return self.to_gaussian() + other

    def marginalize(self, left: int = 0, right: int = 0) -> Gaussian:
        """Integrate out leading / trailing variables of the joint ``(x, y)``."""
        if left == 0 and right == self.matrix.size(-1):
            # p(y | x) integrates to one over y: a constant zero factor over x.
            x_dim = self.matrix.size(-2)
            zeros = self.loc.new_zeros(self.batch_shape + (x_dim,))
            return Gaussian(
                zeros.sum(-1), zeros, zeros.unsqueeze(-1).expand(zeros.shape + (x_dim,))
            )
        return self.to_gaussian().marginalize(left=left, right=right)


def _mvn_parts(mvn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loc, precision, half_logdet_cov)`` of a MultivariateNormal or an Independent
    Normal with one reinterpreted dim."""
    if isinstance(mvn, torch.distributions.Independent):
        base = mvn.base_dist
        if mvn.reinterpreted_batch_ndims != 1 or not isinstance(base, torch.distributions.Normal):
            raise ValueError(
                "expected a MultivariateNormal or Normal(...).to_event(1), got "
                f"{type(mvn).__name__} of {type(base).__name__} with "
                f"{mvn.reinterpreted_batch_ndims} event dims"
            )
        loc, scale = torch.broadcast_tensors(base.loc, base.scale)
        precision = torch.diag_embed(scale.pow(-2))
        return loc, precision, scale.log().sum(-1)
    if not isinstance(mvn, torch.distributions.MultivariateNormal):
        raise ValueError(
            f"expected a MultivariateNormal or Normal(...).to_event(1), got {type(mvn).__name__}"
        )
    L = mvn.scale_tril
    return mvn.loc, mvn.precision_matrix, L.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def mvn_to_gaussian(mvn) -> Gaussian:
    """The :class:`Gaussian` whose ``log_density`` equals ``mvn.log_prob``.

    :param mvn: a :class:`~torch.distributions.MultivariateNormal` (or an ``Independent``
        ``Normal`` with one event dim), batch shape ``B``, event shape ``(n,)``.
    :returns: a normalized Gaussian with batch shape ``B`` over ``n`` variables.
    """
    loc, precision, half_logdet = _mvn_parts(mvn)
    batch = torch.Size(mvn.batch_shape)
    n = loc.size(-1)
    info = matvecmul(precision, loc)
    log_normalizer = -0.5 * n * _LOG_2PI - half_logdet - 0.5 * (info * loc).sum(-1)
    return Gaussian(
        log_normalizer.expand(batch),
        info.expand(batch + (n,)),
        precision.expand(batch + (n, n)),
    )


def matrix_and_gaussian_to_gaussian(matrix: torch.Tensor, y_gaussian: Gaussian) -> Gaussian:
    """The conditional factor of ``y`` given ``x`` where ``y - x @ matrix`` follows
    ``y_gaussian``, as a :class:`Gaussian` over the concatenation ``(x, y)``.

    :param matrix: shape ``batch_shape + (x_dim, y_dim)``.
    :param y_gaussian: a factor over ``y_dim`` variables.
    :returns: a Gaussian over ``x_dim + y_dim`` variables.
    """
    x_dim, y_dim = matrix.shape[-2:]
    if y_gaussian.dim() != y_dim:
        raise ValueError(
            f"matrix of shape {tuple(matrix.shape)} maps to {y_dim} variables but y_gaussian is "
            f"over {y_gaussian.dim()}"
        )
    eye = torch.eye(y_dim, dtype=matrix.dtype, device=matrix.device)
    A = torch.cat([-matrix, eye.expand(matrix.shape[:-2] + (y_dim, y_dim))], -2)
    precision = A @ y_gaussian.precision @ A.mT
    info = matvecmul(A, y_gaussian.info_vec)
    batch = broadcast_shape(matrix.shape[:-2], y_gaussian.batch_shape)
    n = x_dim + y_dim
    return Gaussian(
        y_gaussian.log_normalizer.expand(batch),
        info.expand(batch + (n,)),
        precision.expand(batch + (n, n)),
    )


def matrix_and_mvn_to_gaussian(matrix: torch.Tensor, mvn) -> Gaussian:
    """The noisy affine map ``y = x @ matrix + mvn.sample()`` as a :class:`Gaussian` over
    ``(x, y)``: its ``condition(y).log_density(x)`` is ``log p(y | x)``.

    :param matrix: shape ``batch_shape + (x_dim, y_dim)``.
    :param mvn: a MultivariateNormal (or ``Normal(...).to_event(1)``) with event shape
        ``(y_dim,)``, batch shape broadcastable with ``matrix.shape[:-2]``.
    :returns: a Gaussian over ``x_dim + y_dim`` variables.
    """
    return matrix_and_gaussian_to_gaussian(matrix, mvn_to_gaussian(mvn))


def gaussian_tensordot(x: Gaussian, y: Gaussian, dims: int = 0) -> Gaussian:
    r"""Integrate the shared variables out of a product of two factors:
    :math:`(x \otimes y)(a, c) = \log \int \exp(x(a, b) + y(b, c))\, db`.

    :param x: a factor over ``(a, b)``.
    :param y: a factor over ``(b, c)``.
    :param dims: the size of ``b`` (the trailing variables of ``x``, the leading of ``y``).
    :returns: a factor over ``(a, c)``, batched over the broadcast batch shape.
    """
    if dims < 0 or dims > min(x.dim(), y.dim()):
        raise ValueError(f"dims={dims} out of range for Gaussians over {x.dim()} and {y.dim()}")
    if dims == 0:
        return x.event_pad(right=y.dim()) + y.event_pad(left=x.dim())
    parts = _contract_blocks(x, y, dims)
    return Gaussian(
        x.log_normalizer + y.log_normalizer + parts.const + 0.5 * parts.white.pow(2).sum(-1),
        parts.info,
        parts.precision,
    )


class _Contraction:
    """The pieces of integrating ``b`` out of ``x(a, b) + y(b, c)`` (shared by the
    Gaussian and Gamma-Gaussian tensordots)."""

    __slots__ = ("const", "white", "info", "precision")

    def __init__(self, const, white, info, precision):
        self.const = const  # dims/2 log(2 pi) - log|L|
        self.white = white  # L^{-1} eta_b
        self.info = info
        self.precision = precision


def _contract_blocks(x, y, dims: int) -> _Contraction:
    """Block form of the contraction, without padding to the joint ``(a, b, c)``:
    with ``L L^T = x_bb + y_bb`` and ``W = L^{-1} [x_ba, y_bc]``, the result has precision
    ``diag(x_aa, y_cc) - W^T W`` and information ``(eta_a, eta_c) - W^T L^{-1} eta_b``."""
    na = x.dim() - dims
    nc = y.dim() - dims
    P_bb = x.precision[..., na:, na:] + y.precision[..., :dims, :dims]
    info_b = x.info_vec[..., na:] + y.info_vec[..., :dims]
    L, white, half_logdet = _cholesky_parts(P_bb, info_b)
    batch = L.shape[:-2]
    P_ba = x.precision[..., na:, :na].expand(batch + (dims, na))
    P_bc = y.precision[..., :dims, dims:].expand(batch + (dims, nc))
    W = triangular_solve(torch.cat([P_ba, P_bc], -1), L)
    zeros = P_bb.new_zeros(()).expand(batch + (na, nc))
    top = torch.cat([x.precision[..., :na, :na].expand(batch + (na, na)), zeros], -1)
    bottom = torch.cat([zeros.mT, y.precision[..., dims:, dims:].expand(batch + (nc, nc))], -1)
    precision = torch.cat([top, bottom], -2) - W.mT @ W
    info_batch = white.shape[:-1]
    info = torch.cat(
        [
            x.info_vec[..., :na].expand(info_batch + (na,)),
            y.info_vec[..., dims:].expand(info_batch + (nc,)),
        ],
        -1,
    ) - matvecmul(W.mT, white)
    const = 0.5 * dims * _LOG_2PI - half_logdet
    return _Contraction(const, white, info, precision)


def _contract_pairs(g, state_dim: int, tensordot=None):
    """One level of the parallel scan: contract neighbours ``(2i, 2i+1)`` of a chain of
    transition factors (time is the rightmost batch dim). Returns the shorter chain and the
    ``(even, odd)`` factors of each pair (to sample the midpoint ``x_b`` later)."""
    tensordot = gaussian_tensordot if tensordot is None else tensordot
    T = g.batch_shape[-1]
    k = T // 2
    even = g[..., 0 : 2 * k : 2]
    odd = g[..., 1 : 2 * k : 2]
    contracted = tensordot(even, odd, state_dim)
    if T % 2:
        contracted = type(g).cat([contracted, g[..., T - 1 : T]], dim=-1)
    return contracted, (even, odd)


def _sequential_tensordot(gaussian, name: str, tensordot=None):
    """The pairwise scan behind :func:`sequential_gaussian_tensordot`, for any factor type
    with ``cat`` and batch indexing, contracted by ``tensordot``."""
    if gaussian.dim() % 2:
        raise ValueError(
            f"{name} needs factors over (old, new) states of equal size, got "
            f"{gaussian.dim()} variables"
        )
    batch = gaussian.batch_shape
    if len(batch) == 0 or batch[-1] == 0:
        raise ValueError(f"{name} needs a nonempty time dim, got batch_shape {tuple(batch)}")
    s = gaussian.dim() // 2
    while gaussian.batch_shape[-1] > 1:
        gaussian, _ = _contract_pairs(gaussian, s, tensordot)
    return gaussian[..., 0]


def sequential_gaussian_tensordot(gaussian: Gaussian) -> Gaussian:
    """Contract a Markov chain of transition factors by a parallel scan:
    ``x[..., 0] @ x[..., 1] @ ... @ x[..., T-1]`` (each ``@`` a
    :func:`gaussian_tensordot` over the shared state), in ``ceil(log2 T)`` batched steps.

    :param gaussian: factors over ``(x_{t-1}, x_t)`` (``2 * state_dim`` variables) with time
        as the rightmost batch dim ``T >= 1``.
    :returns: the factor over ``(x_0, x_T)``, batch shape without the time dim.
    :raises ValueError: if the factor size is odd or the time dim is missing or empty.

    **References**

    [1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
        Smoothers", IEEE Transactions on Automatic Control 66(1).
    """
    return _sequential_tensordot(gaussian, "sequential_gaussian_tensordot")


def sequential_gaussian_filter_sample(
    init: Gaussian,
    trans: Gaussian,
    sample_shape: tuple[int, ...] = (),
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """Reparameterized joint draw of ``x_0, ..., x_T`` from the normalized product
    ``init(x_0) + sum_t trans[t](x_t, x_{t+1})`` by a parallel-scan forward filter and
    backward sampler: the chain is contracted pairwise down to ``(x_0, x_T)``, which is
    drawn jointly, then each level's midpoints are drawn given their two sampled
    neighbours, all in parallel.

    :param init: a factor over ``state_dim`` variables, batch shape broadcastable to ``B``.
    :param trans: factors over ``2 * state_dim`` variables with batch shape ``B + (T,)``.
    :param sample_shape: leading sample dims ``S``.
    :param noise: optional standard normal noise of shape ``S + B + (T + 1, state_dim)``.
    :returns: a tensor of shape ``S + B + (T + 1, state_dim)``.

    **References**

    [1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
        Smoothers", IEEE Transactions on Automatic Control 66(1).
    """
    s = init.dim()
    if trans.dim() != 2 * s:
        raise ValueError(f"trans must be over 2 * state_dim = {2 * s} variables, got {trans.dim()}")
    sample_shape = torch.Size(sample_shape)
    batch = broadcast_shape(init.batch_shape, trans.batch_shape[:-1])
    T = trans.batch_shape[-1]
    trans = trans.expand(batch + (T,))
    init = init.expand(batch)
    shape = sample_shape + batch + (T + 1, s)
    if noise is None:
        noise = torch.randn(shape, dtype=init.info_vec.dtype, device=init.info_vec.device)
    if T == 0:
        return init.rsample(sample_shape, noise=noise[..., 0, :]).unsqueeze(-2)

    # Forward: contract pairwise, keeping each level's pair factors.
    levels = []
    g = trans
    while g.batch_shape[-1] > 1:
        T_level = g.batch_shape[-1]
        g, pair = _contract_pairs(g, s)
        levels.append((T_level, pair))
    ends = init.event_pad(right=s) + g[..., 0]
    offset = 2
    x = ends.rsample(sample_shape, noise=noise[..., :2, :].reshape(shape[:-2] + (2 * s,)))
    x = x.reshape(shape[:-2] + (2, s))

    # Backward: fill in the midpoints of each level, given the sampled points around them.
    for T_level, (even, odd) in reversed(levels):
        k = T_level // 2
        a, c = x[..., :k, :], x[..., 1 : k + 1, :]
        # x_b | x_a, x_c has precision even_bb + odd_bb and information
        # eta_b - even_ba x_a - odd_bc x_c.
        P_bb = even.precision[..., s:, s:] + odd.precision[..., :s, :s]
        info = (
            even.info_vec[..., s:]
            + odd.info_vec[..., :s]
            - matvecmul(even.precision[..., s:, :s], a)
            - matvecmul(odd.precision[..., :s, s:], c)
        )
        mid_factor = Gaussian(info.new_zeros(info.shape[:-1]), info, P_bb)
        mid = mid_factor.rsample(noise=noise[..., offset : offset + k, :])
        offset += k
        pairs = torch.stack([a, mid], -2).reshape(shape[:-2] + (2 * k, s))
        x = torch.cat([pairs, x[..., k:, :]], -2)
    return x
