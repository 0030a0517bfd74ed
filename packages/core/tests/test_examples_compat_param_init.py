"""Pyro's mixed_hmm example initializes a simplex parameter with ``torch.randn(...).abs()``:
pyro-ppl stores it normalized through the simplex transform, without a warning. Other
initial values outside their constraint are still warned about here."""
import warnings

import pytest
import torch
from torch.distributions import constraints

import pyro


def test_positive_vector_for_a_simplex_is_normalized_silently():
    init = torch.tensor([[0.5, 0.7, 0.3], [2.0, 1.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = pyro.param("probs_e_group", init, constraint=constraints.simplex)
    # the simplex transform (stick breaking) maps a positive vector to itself normalized
    assert torch.allclose(value, init / init.sum(-1, keepdim=True), atol=1e-6)


@pytest.mark.parametrize("constraint, init", [
    (constraints.positive, torch.tensor([-1.0, 2.0])),
    (constraints.simplex, torch.tensor([-0.5, 1.5])),
])
def test_unrepresentable_initial_value_still_warns(constraint, init):
    with pytest.warns(RuntimeWarning, match=r"pyro.param\('p'\).*outside its constraint") as rec:
        value = pyro.param("p", init, constraint=constraint)
    assert not bool(constraint.check(value.detach()).all())  # NaN: nothing to optimize
    assert rec[0].filename == __file__  # points at the pyro.param call


def test_valid_initial_value_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pyro.param("q", torch.tensor([0.2, 0.8]), constraint=constraints.simplex)
        pyro.param("r", torch.tensor(3.0), constraint=constraints.positive)
