"""Special functions: log Beta and log binomial (exact, or a shifted Stirling approximation
with a bounded error), logs and a log-sum-exp with finite gradients at ``-inf``, log
modified Bessel functions of the first kind by their series, Gauss-Hermite quadrature, and
a sparse multinomial likelihood.

**References**

[1] M. Abramowitz, I. Stegun (1964), "Handbook of Mathematical Functions", 6.1.37
    (Stirling's series), 9.6.10 (the series of :math:`I_v`), 25.4.46 (Gauss-Hermite).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .host_reads import host_reads_allowed

__all__ = [
    "get_quad_rule",
    "log_I1",
    "log_beta",
    "log_binomial",
    "safe_log",
    "safe_logsumexp",
    "zero_safe_log",
    "sparse_multinomial_likelihood",
]

_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class _Log(torch.autograd.Function):
    """``x.log()`` with a backward that stays finite at ``x == 0``: bounded by ``1 / eps``
    (``bounded=True``, :func:`safe_log`), or exact with ``0 / 0`` read as 0
    (:func:`zero_safe_log`)."""

    generate_vmap_rule = True  # (forward / setup_context form: usable under torch.func)

    @staticmethod
    def forward(x, bounded):
        return x.log()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.bounded = inputs[1]

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.bounded:
            return grad / x.clamp(min=torch.finfo(x.dtype).eps), None
        # 0 / 0 (no gradient reaches a log(0) = -inf entry) is 0, not NaN
        return torch.where(grad == 0, torch.zeros_like(grad), grad / x), None


def safe_log(x: torch.Tensor) -> torch.Tensor:
    """Like :func:`torch.log` but its gradient is at most ``1 / finfo.eps`` (finite at
    ``log(0)``, where the value is still ``-inf``).

    :param x: a nonnegative floating tensor.
    :returns: ``x.log()``.
    """
    return _Log.apply(x, True)


class _SafeLogSumExp(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x, dims):
        return x.logsumexp(dims)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, dims = inputs
        # (the detached output: under torch.jit.trace the backward then reads a traced
        # value, not a tensor requiring grad that the tracer cannot make a constant)
        ctx.save_for_backward(x, output.detach())
        reduced = {d % x.dim() for d in dims}
        ctx.kept = [1 if i in reduced else n for i, n in enumerate(x.shape)]

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        out = out.reshape(ctx.kept)
        # a group of -inf only has weights exp(-inf - 0) = 0, not exp(-inf + inf) = NaN
        out = out.masked_fill(out == -math.inf, 0.0)
        return grad.reshape(ctx.kept) * (x - out).exp(), None


def _plain_backward_is_finite(out: torch.Tensor) -> bool:
    """Whether torch's own backward of a log-space result ``out`` is free of 0 / 0: no
    entry is ``-inf``. Known without a host read only where one is harmless (eager CPU);
    elsewhere the answer is "not shown"."""
    return out.is_cpu and host_reads_allowed() and not bool(torch.isneginf(out).any())


def safe_logsumexp(x: torch.Tensor, dims: int | tuple[int, ...]) -> torch.Tensor:
    """:meth:`torch.Tensor.logsumexp` over ``dims`` whose gradient is finite where a
    reduced group holds only ``-inf`` (value ``-inf``; gradient 0 there, where torch's is
    NaN). Enumerated models need it: a partial sum over impossible configurations is
    ``-inf`` and must not turn the whole gradient into NaN. Where no result is ``-inf``
    (one host read on an eager CPU tensor tells) this is torch's logsumexp, gradient and
    all.

    :param x: a floating tensor.
    :param dims: the dims reduced (an int or a nonempty tuple of ints).
    :returns: a tensor of ``x``'s shape without ``dims``.
    """
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if not (x.requires_grad and torch.is_grad_enabled()):
        return x.logsumexp(dims)
    if x.is_cpu:
        out = x.logsumexp(dims)
        if _plain_backward_is_finite(out):
            return out
    return _SafeLogSumExp.apply(x, dims)


def zero_safe_log(x: torch.Tensor) -> torch.Tensor:
    """:func:`torch.log` of a nonnegative tensor whose gradient is 0 (not NaN) at entries
    ``x == 0`` that receive no gradient (``log(0) = -inf`` terms that a later log-sum-exp
    weighs by ``exp(-inf) = 0``); elsewhere torch's gradient ``grad / x``. Unlike
    :func:`safe_log` it does not bound the gradient of small positive entries.

    :param x: a nonnegative floating tensor.
    :returns: ``x.log()``.
    """
    if not (x.requires_grad and torch.is_grad_enabled()):
        return x.log()
    if x.is_cpu:
        out = x.log()
        if _plain_backward_is_finite(out):
            return out
    return _Log.apply(x, False)


def _stirling_lgamma(z: torch.Tensor, shift: int) -> torch.Tensor:
    # lgamma(z) = lgamma(z + n) - sum_{i<n} log(z + i); Stirling at z + n has error
    # below 1 / (12 (z + n)).
    correction: torch.Tensor | int = 0
    for i in range(shift):
        correction = correction + (z + i).log()
    z = z + shift
    return (z - 0.5) * z.log() - z + _HALF_LOG_TWO_PI - correction


def log_beta(
    x: torch.Tensor | float, y: torch.Tensor | float, tol: float = 0.0
) -> torch.Tensor:
    """Log of the Beta function :math:`\\log B(x, y) = \\log\\Gamma(x) + \\log\\Gamma(y) -
    \\log\\Gamma(x + y)`.

    With ``tol < 0.02`` this is exact (``torch.lgamma``). With ``tol >= 0.02`` it uses
    Stirling's approximation ``lgamma(z) ~ (z - 1/2) log z - z + log(2 pi) / 2``, shifted
    ``n`` times by ``lgamma(z) = lgamma(z + 1) - log z`` where ``n = ceil(0.082 / tol)``,
    which bounds the absolute error by ``0.082 / n <= tol``; this is cheaper on
    accelerators and for large batches.

    :param x: a positive tensor.
    :param y: a positive tensor (broadcasts with ``x``).
    :param tol: bound on the absolute error (default 0: exact).
    :returns: a tensor of the broadcast shape.
    """
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if not torch.is_floating_point(x):
        x = x.to(torch.get_default_dtype())
    if not torch.is_floating_point(y):
        y = y.to(x.dtype)
    if tol < 0.02:
        return torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)
    shift = math.ceil(0.082 / tol)
    return (
        _stirling_lgamma(x, shift) + _stirling_lgamma(y, shift) - _stirling_lgamma(x + y, shift)
    )


def log_binomial(
    n: torch.Tensor | float, k: torch.Tensor | float, tol: float = 0.0
) -> torch.Tensor:
    """Log binomial coefficient :math:`\\log\\binom{n}{k}`.

    Exact for ``tol < 0.02``; otherwise ``-log(n + 1) - log_beta(k + 1, n - k + 1, tol)``
    with the approximate :func:`log_beta` (error at most ``tol``).

    :param n: a nonnegative integer-valued tensor.
    :param k: an integer-valued tensor in ``[0, n]``.
    :param tol: bound on the absolute error (default 0: exact).
    :returns: a tensor of the broadcast shape.
    """
    n, k = torch.as_tensor(n), torch.as_tensor(k)
    if not torch.is_floating_point(n):
        n = n.to(torch.get_default_dtype())
    k = k.to(n.dtype)
    if tol < 0.02:
        return torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
    return -(n + 1).log() - log_beta(k + 1, n - k + 1, tol=tol)


def log_I1(orders: int, value: torch.Tensor, terms: int = 250) -> torch.Tensor:
    """Logs of the modified Bessel functions of the first kind :math:`I_0, \\dots,
    I_{orders}` at ``value``, by their series truncated after ``terms`` terms [1, 9.6.10]:

    .. math::
        \\log I_v(z) = v \\log(z/2) + \\log \\sum_{k=0}^{terms-1}
            \\exp\\left[2k \\log(z/2) - \\log k! - \\log\\Gamma(v + k + 1)\\right]

    The truncation is accurate while ``z`` is well below ``2 sqrt(terms)`` (about 30 for
    the default).

    :param orders: the largest order (an int >= 0).
    :param value: a tensor of nonnegative arguments ``z`` (a scalar is treated as shape
        ``(1,)``).
    :param terms: the number of series terms.
    :returns: a tensor of shape ``(orders + 1,) + value.shape``; row ``v`` is
        :math:`\\log I_v(z)`.
    :raises ValueError: for a negative ``orders`` or nonpositive ``terms``.
    """
    if orders < 0 or terms < 1:
        raise ValueError(f"log_I1: need orders >= 0 and terms >= 1, got {orders}, {terms}")
    value = torch.as_tensor(value)
    if not torch.is_floating_point(value):
        value = value.to(torch.get_default_dtype())
    if value.dim() == 0:
        value = value.reshape(1)
    shape = value.shape
    log_half_z = (value / 2).log().reshape(-1)  # (B,)
    k = torch.arange(terms, dtype=value.dtype, device=value.device)  # (K,)
    v = torch.arange(orders + 1, dtype=value.dtype, device=value.device)  # (V,)
    # log term: 2k log(z/2) - lgamma(k+1) - lgamma(v+k+1), shape (V, K, B); the k = 0 and
    # v = 0 powers are 1 even at z = 0, where 0 * log(0) would give nan.
    zero = torch.zeros((), dtype=value.dtype, device=value.device)
    powers = torch.where(k[:, None] == 0, zero, 2 * k[:, None] * log_half_z)
    log_terms = (powers - torch.lgamma(k + 1)[:, None]) - torch.lgamma(v[:, None] + k + 1)[
        :, :, None
    ]
    prefix = torch.where(v[:, None] == 0, zero, v[:, None] * log_half_z)
    result = prefix + torch.logsumexp(log_terms, dim=1)
    return result.reshape((orders + 1,) + shape)


@functools.lru_cache(maxsize=32)
def _hermite_rule(num_quad: int) -> tuple[np.ndarray, np.ndarray]:
    points, weights = np.polynomial.hermite.hermgauss(num_quad)
    # change of variables x = sqrt(2) t turns exp(-t^2) into the standard normal density
    return points * math.sqrt(2.0), np.log(weights) - 0.5 * math.log(math.pi)


def get_quad_rule(
    num_quad: int, prototype_tensor: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gauss-Hermite quadrature for expectations under a standard Normal:
    ``E[f(X)] ~ sum_i exp(log_weights[i]) * f(quad_points[i])``, exact for polynomials of
    degree below ``2 * num_quad``. For ``N(0, s^2)`` multiply the points by ``s``::

        quad_points, log_weights = get_quad_rule(32, prototype_tensor)
        variance = torch.logsumexp((4.0 * quad_points).pow(2).log() + log_weights, 0).exp()
        # variance == 16.0

    :param num_quad: the number of points (>= 1).
    :param prototype_tensor: a tensor giving the ``dtype`` and ``device`` of the results.
    :returns: ``(quad_points, log_weights)``, two tensors of shape ``(num_quad,)``.
    :raises ValueError: if ``num_quad < 1``.
    """
    if num_quad < 1:
        raise ValueError(f"get_quad_rule: num_quad must be >= 1, got {num_quad}")
    points, log_weights = _hermite_rule(int(num_quad))
    return (
        prototype_tensor.new_tensor(points),
        prototype_tensor.new_tensor(log_weights),
    )


def sparse_multinomial_likelihood(
    total_count: torch.Tensor, nonzero_logits: torch.Tensor, nonzero_value: torch.Tensor
) -> torch.Tensor:
    """Total log likelihood of multinomial counts given only their nonzero entries.
    These are equivalent::

        # dense
        log_prob = Multinomial(logits=logits).log_prob(value).sum()
        # sparse
        nnz = value.nonzero(as_tuple=True)
        log_prob = sparse_multinomial_likelihood(
            value.sum(-1), (logits - logits.logsumexp(-1, True))[nnz], value[nnz]
        )

    :param total_count: the total count of each multinomial (any shape; summed).
    :param nonzero_logits: normalized log probabilities of the nonzero cells.
    :param nonzero_value: the counts of those cells (same shape).
    :returns: a scalar tensor, ``sum lgamma(total + 1) + sum(value * logit -
        lgamma(value + 1))``.
    """
    total_count = torch.as_tensor(total_count, dtype=nonzero_logits.dtype,
                                  device=nonzero_logits.device)
    return (
        torch.lgamma(total_count + 1).sum()
        + (nonzero_value * nonzero_logits - torch.lgamma(nonzero_value + 1)).sum()
    )
