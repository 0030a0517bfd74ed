"""Numerical inverses of monotone autoregressive maps (used by the flows that have no
closed-form inverse): bracketing bisection for the values, then Newton steps that carry the
exact implicit gradients."""
from __future__ import annotations

from collections.abc import Callable

import torch

_MAX_DOUBLINGS = 64
_MAX_STEPS = 200


@torch.no_grad()
def bisect_increasing(fn: Callable, target: torch.Tensor) -> torch.Tensor:
    """Solve ``fn(x) == target`` elementwise for an elementwise increasing ``fn`` (same
    shape in and out), to the precision of the dtype. Returns a tensor without gradient.

    :raises ValueError: if a target is outside the range of ``fn``.
    """
    lo = torch.full_like(target, -1.0)
    hi = torch.full_like(target, 1.0)
    for _ in range(_MAX_DOUBLINGS):  # widen the bracket [lo, hi] until it holds the root
        low_bad = fn(lo) > target
        high_bad = fn(hi) < target
        if not (low_bad.any() or high_bad.any()):
            break
        lo = torch.where(low_bad, 2 * lo, lo)
        hi = torch.where(high_bad, 2 * hi, hi)
    else:
        raise ValueError(
            "cannot invert the flow: some values lie outside the range of the map (a flow "
            "whose output is bounded, e.g. BlockAutoregressive without a residual, reaches "
            "only the values it can produce)"
        )
    eps = torch.finfo(target.dtype).eps
    for _ in range(_MAX_STEPS):
        mid = (lo + hi) / 2
        below = fn(mid) < target
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
        if bool(((hi - lo) <= 4 * eps * torch.maximum(lo.abs(), hi.abs()).clamp(min=1)).all()):
            break
    return (lo + hi) / 2


def newton_passes(fn: Callable, x: torch.Tensor, y: torch.Tensor, passes: int) -> torch.Tensor:
    """Refine a solution ``x`` of ``f(x) = y`` for a triangular map ``f`` by ``passes``
    diagonal Newton steps ``x <- x - (f(x) - y) / diag(df/dx)``; ``fn(x)`` returns
    ``(f(x), log diag(df/dx))``.

    Started from the exact solution (detached), the values do not move, and after as many
    passes as the dimension the gradients with respect to ``y`` and to the parameters are
    those of the exact inverse (the strictly triangular part of the Jacobian is nilpotent).
    """
    for _ in range(passes):
        fx, log_diag = fn(x)
        x = x - (fx - y) * torch.exp(-log_diag)
    return x


class MonotoneAutoregressive:
    """Mixin for the autoregressive flows with an elementwise increasing transformer and no
    closed-form inverse (neural autoregressive, polynomial). The class defines
    ``_conditioner(x)`` (the network's transformer parameters at ``x``) and
    ``_transformer(x, params) -> (y, elementwise log dy/dx)``, and sets
    ``self._cached_logDetJ = None``; this gives the forward map, the numerical inverse and
    ``log_abs_det_jacobian`` (shape ``batch_shape``)."""

    def _call(self, x):
        y, log_detJ = self._transformer(x, self._conditioner(x))
        self._cached_logDetJ = (x, y, log_detJ.sum(-1))
        return y

    def _inverse(self, y):
        # D passes fix one more dimension each (in the network's order), by bisection of the
        # elementwise transformer; Newton passes then attach the exact gradients
        d = y.size(-1)
        x = torch.zeros_like(y)
        with torch.no_grad():
            for _ in range(d):
                params = self._conditioner(x)
                x = bisect_increasing(lambda t: self._transformer(t, params)[0], y)
        return newton_passes(lambda v: self._transformer(v, self._conditioner(v)), x, y, d)

    def log_abs_det_jacobian(self, x, y):
        cached = self._cached_logDetJ
        if cached is None or cached[0] is not x or cached[1] is not y:
            self._call(x)
        return self._cached_logDetJ[2]
