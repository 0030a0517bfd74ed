"""Conditional affine autoregressive flows, kept importable from ``pyro.nn`` (where earlier
versions of this project defined them); they live in
:mod:`pyro.distributions.transforms.affine_autoregressive`, as in Pyro."""
from pyro.distributions.transforms.affine_autoregressive import (
    ConditionalAffineAutoregressive,
    conditional_affine_autoregressive,
)

__all__ = ["ConditionalAffineAutoregressive", "conditional_affine_autoregressive"]
