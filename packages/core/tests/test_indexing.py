"""pyro.ops.indexing.Vindex against explicit loops."""
import itertools

import pytest
import torch

from pyro.ops.indexing import Vindex, vindex


def test_plain_indices_behave_like_standard_indexing():
    x = torch.randn(3, 4, 5)
    assert torch.equal(Vindex(x)[1, :, 2], x[1, :, 2])
    assert torch.equal(Vindex(x)[..., 2], x[..., 2])
    assert torch.equal(vindex(x, (0, 1, 2)), x[0, 1, 2])


def test_tensor_indices_broadcast_and_slices_move_right():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5)
    i = torch.randint(3, (6, 1))
    j = torch.randint(5, (1, 2))
    out = Vindex(x)[i, :, j]
    assert out.shape == (6, 2, 4)
    for a, b in itertools.product(range(6), range(2)):
        assert torch.equal(out[a, b], x[i[a, 0], :, j[0, b]])


def test_ellipsis_broadcasts_with_batch_dims():
    torch.manual_seed(1)
    x = torch.randn(2, 1, 3, 4)          # batch (2, 1), event (3, 4)
    i = torch.randint(3, (5,))           # broadcasts with batch -> (2, 5)
    out = Vindex(x)[..., i, :]
    assert out.shape == (2, 5, 4)
    for b, k in itertools.product(range(2), range(5)):
        assert torch.equal(out[b, k], x[b, 0, i[k]])


def test_enumerated_mixture_selection():
    locs = torch.tensor([-1.0, 0.0, 2.0])
    z = torch.arange(3).reshape(3, 1)    # an enumerated value at dim -2
    assert torch.equal(Vindex(locs)[..., z], locs.reshape(3, 1))
    trans = torch.rand(3, 3)
    assert torch.equal(Vindex(trans)[..., z, :], trans.reshape(3, 1, 3))


def test_errors():
    x = torch.randn(3, 4)
    with pytest.raises(IndexError, match="Ellipsis"):
        Vindex(x)[0, ...]
    with pytest.raises(IndexError, match="3 indices"):
        Vindex(x)[torch.tensor([0]), 0, 1]
    with pytest.raises(IndexError, match="slice"):
        Vindex(x)[1:2, 0]
    with pytest.raises(IndexError, match="boolean"):
        Vindex(x)[torch.tensor([True, False, True]), 0]
    with pytest.raises(IndexError, match="broadcast"):
        Vindex(x)[torch.zeros(2, dtype=torch.long), torch.zeros(3, dtype=torch.long)]
