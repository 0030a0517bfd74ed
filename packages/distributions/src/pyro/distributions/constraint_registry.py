"""``biject_to`` / ``transform_to`` for Pyro's constraints.

Registrations go into torch's own registries (:mod:`torch.distributions.constraint_registry`)
so that everything that calls ``torch.distributions.transform_to`` (core's ParamStore
included) sees them once ``pyro.distributions`` is imported.
"""
from __future__ import annotations

import torch
from torch.distributions import constraints as _torch_constraints
from torch.distributions.constraint_registry import biject_to, transform_to
from torch.distributions.transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    SoftplusTransform,
)

from . import constraints
from .transforms.cholesky import (
    CorrLCholeskyTransform,
    CorrMatrixCholeskyTransform,
    SoftplusLowerCholeskyTransform,
    UnitLowerCholeskyTransform,
)
from .transforms.normalize import Normalize
from .transforms.ordered import OrderedTransform

__all__ = ["biject_to", "transform_to"]


def _both(constraint_type):
    def decorator(factory):
        biject_to.register(constraint_type, factory)
        transform_to.register(constraint_type, factory)
        return factory

    return decorator


@_both(_torch_constraints.greater_than)
def _to_greater_than(constraint):
    # torch composes exp with an affine map even for a zero lower bound (positive), which
    # costs a Python call and two autograd nodes per access of every positive param;
    # exp alone gives bit-identical values there.
    lower = constraint.lower_bound
    if not isinstance(lower, torch.Tensor) and lower == 0:
        return ExpTransform()
    return ComposeTransform([ExpTransform(), AffineTransform(lower, 1)])


@_both(constraints._OrderedVector)
def _to_ordered_vector(constraint):
    return OrderedTransform()


@_both(constraints._PositiveOrderedVector)
def _to_positive_ordered_vector(constraint):
    return ComposeTransform([OrderedTransform(), ExpTransform()])


@_both(constraints._SoftplusPositive)
def _to_softplus_positive(constraint):
    return SoftplusTransform()


@_both(constraints._SoftplusLowerCholesky)
def _to_softplus_lower_cholesky(constraint):
    return SoftplusLowerCholeskyTransform()


@_both(constraints._UnitLowerCholesky)
def _to_unit_lower_cholesky(constraint):
    return UnitLowerCholeskyTransform()


@_both(constraints._CorrMatrix)
def _to_corr_matrix(constraint):
    return ComposeTransform([CorrLCholeskyTransform(), CorrMatrixCholeskyTransform().inv])


@transform_to.register(constraints._Sphere)
def _transform_to_sphere(constraint):
    return Normalize()
