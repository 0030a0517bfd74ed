"""Tensor variable elimination against brute-force sums."""
import itertools

import pytest
import torch

from pyro.infer.contract import contract_tensor_tree, partition_factors
from pyro.poutine.indep_messenger import CondIndepStackFrame

A = CondIndepStackFrame("a", -1, 3, 0, 3)
B = CondIndepStackFrame("b", -2, 2, 0, 4)  # subsampled: 2 of 4 elements


def test_global_variable_with_plated_factor():
    torch.manual_seed(0)
    pz = torch.randn(4, 1)          # z at dim -2 (max_plate_nesting 1)
    fx = torch.randn(4, 3)          # factor in plate a, depends on z
    out = contract_tensor_tree([(frozenset(), pz), (frozenset([A]), fx)], {-2})
    assert len(out) == 1 and out[0][0] == frozenset()
    exact = torch.logsumexp(pz[:, 0] + fx.sum(-1), 0)
    assert torch.allclose(out[0][1].reshape(()), exact, atol=1e-5)


def test_subsampled_plate_product_is_scaled():
    torch.manual_seed(1)
    pz = torch.randn(5, 1, 1)       # z at dim -3
    fx = torch.randn(5, 2, 1)       # factor in plate b (dim -2), 2 of 4 elements
    out = contract_tensor_tree([(frozenset(), pz), (frozenset([B]), fx)], {-3})
    exact = torch.logsumexp(pz.reshape(5) + 2.0 * fx.reshape(5, 2).sum(-1), 0)
    assert torch.allclose(out[0][1].reshape(()), exact, atol=1e-5)


def test_local_variables_stay_in_their_plate():
    torch.manual_seed(2)
    py = torch.randn(4, 3)          # local y in plate a at dim -2
    fx = torch.randn(4, 3)
    (ordinal, term), = contract_tensor_tree(
        [(frozenset([A]), py), (frozenset([A]), fx)], {-2})
    assert ordinal == frozenset([A]) and term.shape == (1, 3)
    assert torch.allclose(term.reshape(3), (py + fx).logsumexp(0), atol=1e-5)


def test_chain_matches_brute_force():
    torch.manual_seed(3)
    f1 = torch.randn(2, 1, 1)        # z1 at dim -3
    f12 = torch.randn(2, 3, 1)       # z2 at dim -2 given z1... plus dim -1 (z3) below
    f23 = torch.randn(1, 3, 4)       # z3 at dim -1
    out = contract_tensor_tree([(frozenset(), t) for t in (f1, f12, f23)], {-1, -2, -3})
    total = sum(t.reshape(()) for _, t in out)
    brute = torch.logsumexp(torch.stack([
        f1[i, 0, 0] + f12[i, j, 0] + f23[0, j, k]
        for i, j, k in itertools.product(range(2), range(3), range(4))
    ]), 0)
    assert torch.allclose(total, brute, atol=1e-5)


def test_partition_and_untouched_factors():
    a = torch.randn(2, 1)
    b = torch.randn(1, 3)
    c = torch.randn(())
    parts = partition_factors([(frozenset(), a), (frozenset(), b), (frozenset(), c)], {-2})
    assert len(parts) == 3
    out = contract_tensor_tree([(frozenset(), c)], {-2})
    assert out[0][1] is c


def test_guide_variable_local_to_a_contracted_plate_is_rejected():
    fz = torch.randn(2, 1, 1)        # model z at dim -3, global
    fx = torch.randn(2, 5, 3)        # depends on z and on a guide variable at dim -2 in plate a
    with pytest.raises(ValueError, match="guide-enumerated"):
        contract_tensor_tree([(frozenset(), fz), (frozenset([A]), fx)], {-3},
                             frozen_dims={-2: frozenset([A])})
