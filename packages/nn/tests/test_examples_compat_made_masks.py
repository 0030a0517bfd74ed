"""Pyro's dmm example builds its guide's IAFs with ``affine_autoregressive(z_dim,
hidden_dims=[iaf_dim])``: for a seed, pyro-ppl 1.9 gives a particular MADE network (the
permutation is drawn, the masks are not), so the same masks must come out here, or the
flow (and the whole run) differs. Expected values recorded from pyro-ppl 1.9.2."""
import pytest
import torch

from pyro.nn import AutoRegressiveNN, ConditionalAutoRegressiveNN
from pyro.nn.auto_reg_nn import create_mask, default_hidden_degrees


@pytest.mark.parametrize("input_dim, context_dim, hidden_dims, expected", [
    # evenly spaced over 1..D-1, rounded half to even (4.5 -> 4, 11.5 -> 12)
    (16, 0, [5], [[1, 4, 8, 12, 15]]),
    (16, 0, [6, 10], [[1, 4, 7, 9, 12, 15], [1, 3, 4, 6, 7, 9, 10, 12, 13, 15]]),
    (4, 0, [5], [[1, 2, 2, 2, 3]]),
    (3, 0, [3], [[1, 2, 2]]),
    # with a context: over 1..D, rounded, minus 1 (8.5 -> 8 -> 7)
    (16, 2, [3, 5], [[0, 7, 15], [0, 4, 7, 11, 15]]),
    (3, 1, [5], [[0, 1, 1, 1, 2]]),
    (1, 0, [3], [[1, 0, 0]]),
])
def test_default_hidden_degrees_are_pyros(input_dim, context_dim, hidden_dims, expected):
    degrees = default_hidden_degrees(input_dim, context_dim, hidden_dims)
    assert [d.tolist() for d in degrees] == expected
    assert all(d.dtype == torch.long for d in degrees)


def test_create_mask_equals_pyros_masks():
    masks, skip = create_mask(4, 2, [6, 5], torch.tensor([2, 0, 3, 1]), 1)
    assert [m.int().tolist() for m in masks] == [
        [[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 1, 0], [1, 1, 0, 0, 1, 0], [1, 1, 1, 0, 1, 0],
         [1, 1, 1, 0, 1, 0], [1, 1, 1, 0, 1, 1]],
        [[1, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0],
         [1, 1, 1, 1, 1, 1]],
        [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 1, 1, 0]],
    ]
    # the skip connections: an output sees the context and the inputs before it
    assert skip.int().tolist() == [[1, 1, 0, 0, 1, 0], [1, 1, 1, 0, 1, 1],
                                   [1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 1, 0]]


@pytest.mark.parametrize("context_dim", [0, 3])
def test_networks_built_from_the_default_degrees_stay_autoregressive(context_dim):
    torch.manual_seed(0)
    D = 6
    net = (ConditionalAutoRegressiveNN(D, context_dim, [12, 9], param_dims=[1])
           if context_dim else AutoRegressiveNN(D, [12, 9], param_dims=[1]))
    assert [d.tolist() for d in net.get_mask_encoding()] == [
        d.tolist() for d in default_hidden_degrees(D, context_dim, [12, 9])]
    x = torch.randn(D)
    ctx = torch.randn(context_dim)
    f = (lambda v: net(v, ctx)) if context_dim else net
    J = torch.autograd.functional.jacobian(f, x)
    perm = net.get_permutation()
    P = J[perm][:, perm]
    assert torch.all(P == torch.tril(P, diagonal=-1))  # output k sees inputs before it only
    # and, the layers being wider than D, every earlier input reaches it through the masks
    paths = net.layers[0].mask[:, context_dim:]
    for layer in net.layers[1:]:
        paths = layer.mask @ paths
    reach = (paths[perm][:, perm] > 0).float()
    assert torch.equal(reach, torch.tril(torch.ones(D, D), diagonal=-1))
