"""Constraints: every constraint of :mod:`torch.distributions.constraints` plus Pyro's.

Pyro's additions (each with a ``biject_to`` / ``transform_to`` registration in
:mod:`pyro.distributions.constraint_registry`, so that ``pyro.param(...,
constraint=...)`` works with them):

================================  ============================================================
``ordered_vector``                strictly increasing vectors
``positive_ordered_vector``       strictly increasing positive vectors
``softplus_positive``             positive reals, unconstrained through softplus
``softplus_lower_cholesky``       lower Cholesky factors, diagonal through softplus
``unit_lower_cholesky``           lower-triangular matrices with unit diagonal
``corr_matrix``                   correlation matrices (symmetric, PD, unit diagonal)
``sphere``                        unit-norm vectors (``transform_to`` only: not a bijection)
``integer``                       integer-valued reals
``corr_cholesky_constraint``      alias of ``corr_cholesky`` (Pyro's older name)
================================  ============================================================
"""
from __future__ import annotations

import torch
from torch.distributions.constraints import *  # noqa: F401,F403
from torch.distributions.constraints import (
    Constraint,
    _GreaterThan,
    _LowerCholesky,
    corr_cholesky,
)
from torch.distributions.constraints import (
    __all__ as _torch_all,
)

__all__ = list(_torch_all) + [
    "corr_cholesky_constraint",
    "corr_matrix",
    "integer",
    "ordered_vector",
    "positive_ordered_vector",
    "softplus_lower_cholesky",
    "softplus_positive",
    "sphere",
    "unit_lower_cholesky",
]


class _OrderedVector(Constraint):
    """Vectors whose entries strictly increase along the last dimension."""

    event_dim = 1

    def check(self, value):
        if value.size(-1) < 2:
            return value.new_ones(value.shape[:-1], dtype=torch.bool)
        return torch.all(value[..., 1:] > value[..., :-1], dim=-1)


class _PositiveOrderedVector(_OrderedVector):
    """Strictly increasing vectors of positive entries."""

    def check(self, value):
        return super().check(value) & torch.all(value > 0, dim=-1)


class _SoftplusPositive(_GreaterThan):
    """Positive reals; the bijection from the reals is softplus (gentler than exp)."""

    def __init__(self) -> None:
        super().__init__(lower_bound=0.0)


class _SoftplusLowerCholesky(_LowerCholesky):
    """Lower Cholesky factors; the bijection applies softplus to the diagonal."""


class _UnitLowerCholesky(Constraint):
    """Lower-triangular square matrices with ones on the diagonal."""

    event_dim = 2

    def check(self, value):
        lower = (value.tril() == value).flatten(-2).all(-1)
        ones = (value.diagonal(dim1=-2, dim2=-1) == 1).all(-1)
        return lower & ones


class _CorrMatrix(Constraint):
    """Correlation matrices: symmetric, positive definite, unit diagonal."""

    event_dim = 2

    def check(self, value):
        tol = torch.finfo(value.dtype).eps * value.size(-1) * 10
        symmetric = torch.isclose(value, value.mT, atol=tol, rtol=0).flatten(-2).all(-1)
        unit_diag = ((value.diagonal(dim1=-2, dim2=-1) - 1).abs() <= tol).all(-1)
        pd = torch.linalg.cholesky_ex(value.detach())[1] == 0
        return symmetric & unit_diag & pd


class _Sphere(Constraint):
    """Vectors of unit Euclidean norm along the last dimension."""

    event_dim = 1
    reltol = 10.0

    def check(self, value):
        eps = torch.finfo(value.dtype).eps
        norm = torch.linalg.vector_norm(value, dim=-1)
        return (norm - 1).abs() <= eps * self.reltol * value.size(-1) ** 0.5


class _Integer(Constraint):
    """Integer-valued reals (any sign)."""

    is_discrete = True

    def check(self, value):
        return value == value.floor()


ordered_vector = _OrderedVector()
positive_ordered_vector = _PositiveOrderedVector()
softplus_positive = _SoftplusPositive()
softplus_lower_cholesky = _SoftplusLowerCholesky()
unit_lower_cholesky = _UnitLowerCholesky()
corr_matrix = _CorrMatrix()
sphere = _Sphere()
integer = _Integer()
corr_cholesky_constraint = corr_cholesky
