"""Vindex without a leading ``...`` takes the dims left unindexed on the right whole, as
plain indexing does (Pyro's examples/hmm.py model_4 indexes a 3-dim table by two
enumerated variables: ``Vindex(probs_x)[w, x]``)."""
import pytest
import torch

from pyro.ops.indexing import Vindex


@pytest.fixture
def x():
    return torch.arange(2 * 3 * 4.0).reshape(2, 3, 4)


def test_two_enumerated_indices_of_a_3d_table(x):
    w = torch.tensor([[0], [1]])  # an enumeration dim on the left of x's
    v = torch.tensor([0, 2, 1])
    got = Vindex(x)[w, v]
    assert got.shape == (2, 3, 4)
    for a in range(2):
        for b in range(3):
            assert torch.equal(got[a, b], x[w[a, 0], v[b]])
    assert torch.equal(got, Vindex(x)[w, v, :])


@pytest.mark.parametrize("args", [(1, 2), (1,), (torch.tensor(1), 2)])
def test_plain_indices_equal_plain_indexing(x, args):
    assert torch.equal(Vindex(x)[args], x[args])


def test_a_tensor_index_then_whole_dims(x):
    i = torch.tensor([[0], [1]])
    got = Vindex(x)[i, :]  # the third dim taken whole too
    assert got.shape == (2, 1, 3, 4)
    assert torch.equal(got[1, 0], x[1])


def test_more_indices_than_dims_is_refused():
    with pytest.raises(IndexError, match="at most tensor.dim"):
        Vindex(torch.arange(3.0))[torch.tensor([0, 1]), 0]
