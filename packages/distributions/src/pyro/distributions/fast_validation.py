"""A cheaper argument check for distributions, with torch's errors.

``torch.distributions.Distribution.__init__`` checks each parameter against its constraint
with three tensor operations (the comparison, ``_is_all_true`` and a host transfer), and
``Beta(a, b)`` pays that twice: on a tiny model these checks cost as much as the model's
arithmetic. Here a parameter that is a one-element floating-point CPU tensor is checked with
one host read (``value.item()`` compared in Python) when its constraint is a simple bound
(``real``, ``positive``, ``nonnegative``, ``unit_interval``, ... with small integral bounds,
which every floating dtype represents exactly, so the Python comparison decides as torch's
would); other parameters (larger or CUDA tensors, other constraints) keep torch's tensor
check, all of a distribution's reduced to one host transfer. Whenever this check does not
pass, torch's own runs, so a failure raises exactly torch's ``ValueError`` (and a value that
the shortcut cannot judge is judged by torch).

Large floating-point CPU tensors under ``real`` (no NaN), ``boolean`` (0/1 values:
observed Bernoulli data) or a simple bound are judged by float reductions and host reads
instead of torch's boolean comparisons and ``_is_all_true`` (which cost several times more
on CPU): ``sum(x)`` is not NaN when no entry is NaN, ``max |x x - x| == 0`` exactly
when every entry is 0 or 1 (the terms are non-negative and vanish only there), and a
bound holds for all entries when it holds for ``min(x)`` and ``max(x)``. Values to be
scored (``_validate_sample``) are checked the same way, after torch's shape rules.

Validation therefore stays on by default, as in Pyro; it is only made cheaper.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch.distributions import Distribution
from torch.distributions import constraints as _c
from torch.distributions.utils import lazy_property

from pyro.ops.host_reads import host_reads_allowed
from pyro.primitive_distributions.util import scalar_operand, shapes_broadcast

__all__ = [
    "CheapArgCheck",
    "host_reads_allowed",
    "init_distribution",
    "params_valid",
    "value_valid",
]

_EMPTY = torch.Size()

# constraint type -> (check of a Python float x against its bounds (lo, hi))
_SCALAR_CHECKS: dict[type, Any] = {
    _c._Real: lambda x, lo, hi: x == x,  # False for NaN
    _c._GreaterThan: lambda x, lo, hi: lo < x,
    _c._GreaterThanEq: lambda x, lo, hi: lo <= x,
    _c._LessThan: lambda x, lo, hi: x < hi,
    _c._Interval: lambda x, lo, hi: lo <= x <= hi,
    _c._HalfOpenInterval: lambda x, lo, hi: lo <= x < hi,
}


def _exact_bound(bound: Any) -> bool:
    # an integer that float16 / bfloat16 / float32 / float64 all represent exactly
    return (isinstance(bound, (int, float)) and not isinstance(bound, bool)
            and math.isfinite(bound) and bound == int(bound) and abs(bound) <= 256)


def _scalar_check(constraint: Any) -> tuple[Any, Any, Any] | None:
    """``(check, lo, hi)`` when ``constraint`` can be judged on a Python float, else None."""
    check = _SCALAR_CHECKS.get(type(constraint))
    if check is None:
        return None
    lo = getattr(constraint, "lower_bound", None)
    hi = getattr(constraint, "upper_bound", None)
    if (lo is not None and not _exact_bound(lo)) or (hi is not None and not _exact_bound(hi)):
        return None
    return check, lo, hi


def _reduced_check(constraint: Any, value: torch.Tensor) -> bool | None:
    """``constraint.check(value).all()`` by float reductions, for a non-empty
    floating-point CPU tensor under ``real``, ``boolean`` or a simple bound; True only
    when it holds (False: not shown), None when this constraint or tensor is not judged
    so."""
    if not (value.is_cpu and value.is_floating_point()) or value.numel() == 0:
        return None
    kind = type(constraint)
    if kind is _c._IndependentConstraint:
        # all of independent(c, n).check(value) holds iff c holds everywhere; torch's
        # check raises when value has fewer than n dims left of c's event dims
        base = constraint.base_constraint
        if value.dim() - base.event_dim < constraint.reinterpreted_batch_ndims:
            return None
        return _reduced_check(base, value)
    if kind is _c._Real or kind is _c._Boolean:
        if value.requires_grad:
            value = value.detach()
        if kind is _c._Real:
            total = value.sum().item()
            return total == total  # NaN when an entry is NaN (or +inf meets -inf: not shown)
        # fl(x * x) - x is 0 exactly for x in {0, 1} (and -0) and nonzero for every
        # other float (x * x rounds away from x); NaN / inf give NaN, which fails.
        # (x * x, not x - 1: a tensor-tensor op, cheaper than one with a Python scalar)
        return value.mul(value).sub_(value).abs_().amax().item() == 0
    if kind is _c._Simplex:
        return _simplex_reduced(value)
    scalar = _scalar_check(constraint)
    if scalar is None:
        return None
    # a bound holds for every entry iff it holds for the least and the greatest (a NaN
    # entry makes both NaN, which fails every comparison); a one-sided bound needs only
    # the entry on its side
    check, lo, hi = scalar
    value = value.detach()
    if hi is None:
        return bool(check(value.min().item(), lo, hi))
    if lo is None:
        return bool(check(value.max().item(), lo, hi))
    least, greatest = torch.aminmax(value)
    return bool(check(least.item(), lo, hi) and check(greatest.item(), lo, hi))


# dtype -> torch's simplex tolerance 1e-6 as that dtype rounds it (its check compares in
# the value's dtype)
_SIMPLEX_TOL: dict[torch.dtype, float] = {}


def _simplex_reduced(value: torch.Tensor) -> bool | None:
    """torch's ``simplex.check(value).all()`` (every entry ``>= 0`` and each row's
    ``|sum - 1| < 1e-6``) by two reductions: ``min >= 0`` and the largest
    ``|sum(-1) - 1|`` (the same per-row sums) below the tolerance in the value's dtype.
    A NaN makes the min or the largest deviation NaN, which fails (not shown)."""
    if value.dim() == 0:
        return None  # torch's check raises its own error there
    value = value.detach()
    if not value.amin().item() >= 0:
        return False
    tol = _SIMPLEX_TOL.get(value.dtype)
    if tol is None:
        tol = _SIMPLEX_TOL[value.dtype] = torch.tensor(1e-6, dtype=value.dtype).item()
    sums = value.sum(-1)
    return (sums - scalar_operand(1.0, sums)).abs().amax().item() < tol


# class -> [(param, constraint, scalar check or None, skippable lazily)], for classes whose
# arg_constraints is a class-level dict; absent when it is computed per instance
_PLANS: dict[type, list[tuple[str, Any, Any, bool]] | None] = {}


def _plan(cls: type) -> list[tuple[str, Any, Any, bool]] | None:
    try:
        return _PLANS[cls]
    except KeyError:
        pass
    plan: list[tuple[str, Any, Any, bool]] | None = None
    for klass in cls.__mro__:
        if "arg_constraints" in vars(klass):
            table = vars(klass)["arg_constraints"]
            if isinstance(table, dict):
                plan = [(param, constraint, _scalar_check(constraint),
                         isinstance(getattr(cls, param, None), lazy_property))
                        for param, constraint in table.items()
                        if not _c.is_dependent(constraint)]
            break
    _PLANS[cls] = plan
    return plan


def _entries(dist: Distribution) -> list[tuple[str, Any, Any, bool]]:
    # for a class whose arg_constraints is computed per instance
    return [(param, constraint, _scalar_check(constraint),
             isinstance(getattr(type(dist), param, None), lazy_property))
            for param, constraint in dist.arg_constraints.items()
            if not _c.is_dependent(constraint)]


def params_valid(dist: Distribution) -> bool:
    """Whether every parameter of ``dist`` satisfies its constraint, judged cheaply (see
    the module's docstring). ``False`` means "not shown valid": the caller then runs
    torch's check, which raises torch's error or accepts."""
    plan = _PLANS[type(dist)] if type(dist) in _PLANS else _plan(type(dist))
    if plan is None:
        plan = _entries(dist)
    pending: list[torch.Tensor] = []
    reads = None
    state = dist.__dict__
    for param, constraint, scalar, lazy in plan:
        if param in state:
            value = state[param]
        elif lazy:
            continue  # a lazily computed parameter (e.g. probs given logits), as torch
        else:
            value = getattr(dist, param)
        if type(value) is torch.Tensor and value.is_cpu:
            if reads is None:
                reads = host_reads_allowed()  # (before numel(): a tracer records that)
            if reads:
                if scalar is not None and value.numel() == 1 and value.is_floating_point():
                    check, lo, hi = scalar
                    if not check(value.item(), lo, hi):
                        return False
                    continue
                reduced = _reduced_check(constraint, value)
                if reduced is not None:
                    if not reduced:
                        return False
                    continue
        try:
            pending.append(torch._is_all_true(constraint.check(value)))
        except (RuntimeError, TypeError, ValueError):
            return False
    if not pending:
        return True
    try:
        ok = pending[0]
        for more in pending[1:]:
            ok = ok & more
        return bool(ok)
    except (RuntimeError, TypeError, ValueError):
        return False  # torch's own check says what is wrong


def init_distribution(dist: Distribution, batch_shape: torch.Size = _EMPTY,
                      event_shape: torch.Size = _EMPTY,
                      validate_args: bool | None = None) -> None:
    """``Distribution.__init__(dist, batch_shape, event_shape, validate_args)`` with the
    argument check of :func:`params_valid` (torch's own when that one does not pass): the
    same state afterwards (``_validate_args`` set on the instance only when given), the
    same errors."""
    # what torch's Distribution.__init__ sets before its check (properties such as
    # Wishart's read the shapes)
    dist._batch_shape = batch_shape
    dist._event_shape = event_shape
    if validate_args is not None:
        dist._validate_args = validate_args
    if dist._validate_args and not params_valid(dist):
        Distribution.__init__(dist, batch_shape, event_shape, validate_args=validate_args)


def value_valid(dist: Distribution, value: Any) -> bool:
    """Whether torch's ``dist._validate_sample(value)`` would pass (shapes broadcast with
    ``batch_shape + event_shape``, value in the support), judged cheaply; ``False`` means
    "not shown valid": the caller then runs torch's check for its error."""
    if type(value) is not torch.Tensor:
        return False
    shape = value.shape
    event_shape = dist._event_shape
    n = len(event_shape)
    if len(shape) < n or (n and shape[len(shape) - n:] != event_shape):
        return False
    if not shapes_broadcast(shape, dist._batch_shape + event_shape):
        return False
    try:
        support = dist.support
    except NotImplementedError:
        return False  # torch warns
    if support is None or not (value.is_cpu and host_reads_allowed()):
        return False  # torch's tensor check (one sync, as before)
    if value.numel() == 1 and value.is_floating_point():
        scalar = _scalar_check(support)
        if scalar is not None:
            check, lo, hi = scalar
            return bool(check(value.item(), lo, hi))
    try:
        reduced = _reduced_check(support, value)
        if reduced is not None:
            return reduced
        return bool(torch._is_all_true(support.check(value)))
    except (RuntimeError, TypeError, ValueError):
        return False


class CheapArgCheck(Distribution):
    """Placed just before ``Distribution`` in a family's MRO (by the wrappers of
    :mod:`pyro.distributions.torch`), so that the family's ``super().__init__(...)`` runs
    :func:`init_distribution` and its value checks :func:`value_valid`."""

    def __init__(self, batch_shape: torch.Size = _EMPTY, event_shape: torch.Size = _EMPTY,
                 validate_args: bool | None = None) -> None:
        init_distribution(self, batch_shape, event_shape, validate_args)

    def _validate_sample(self, value: torch.Tensor) -> None:
        if not value_valid(self, value):
            Distribution._validate_sample(self, value)  # raises torch's error (or accepts)
