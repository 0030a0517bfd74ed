"""MADE networks: the autoregressive property checked with the exact Jacobian."""
import pytest
import torch
from torch.autograd.functional import jacobian

from pyro.nn import AutoRegressiveNN, ConditionalAutoRegressiveNN, MaskedLinear
from pyro.nn.auto_reg_nn import create_mask, sample_mask_indices


def jacobians(net, x, context=None):
    """One Jacobian (out_dim x in_dim) per output parameter row of ``net`` at ``x``."""

    def flat(v):
        out = net(v) if context is None else net(v, context)
        outs = out if isinstance(out, tuple) else (out,)
        return torch.cat([o.reshape(-1, v.shape[-1]) for o in outs], 0)

    J = jacobian(flat, x)  # (rows, D, D)
    return J


def check_made(net, D, trials=4):
    """Reordered by the permutation, every Jacobian block is strictly lower triangular and,
    accumulated over inputs, every allowed dependency actually occurs."""
    perm = net.get_permutation()
    seen = torch.zeros(D, D)
    for _ in range(trials):
        x = torch.randn(D)
        J = jacobians(net, x)
        for block in J:
            P = block[perm][:, perm]
            assert torch.all(P == torch.tril(P, diagonal=-1)), P
            seen += P.abs()
    return seen


@pytest.mark.parametrize("hidden_dims", [[7], [12, 9], [30, 30, 30]])
@pytest.mark.parametrize("param_dims", [[1], [1, 1], [2], [1, 3]])
def test_made_jacobian_strictly_triangular_after_permutation(hidden_dims, param_dims):
    torch.manual_seed(0)
    D = 6
    net = AutoRegressiveNN(D, hidden_dims, param_dims=param_dims)  # random permutation
    seen = check_made(net, D)
    below = torch.tril(torch.ones(D, D), diagonal=-1).bool()
    # hidden widths >= D - 1 give every degree, so every allowed path exists; with ReLU and
    # 4 random inputs nearly all of them are active
    assert (seen[below] > 0).float().mean() >= 0.9


def test_made_with_skip_connections_and_identity_permutation():
    torch.manual_seed(1)
    D = 5
    net = AutoRegressiveNN(D, [20], param_dims=[1, 1], permutation=torch.arange(D),
                           skip_connections=True)
    seen = check_made(net, D)
    below = torch.tril(torch.ones(D, D), diagonal=-1).bool()
    # the skip layer alone connects every allowed pair (nonzero weights, no ReLU)
    assert torch.all(seen[below] > 0)


def test_output_shapes_follow_param_dims():
    D = 4
    x = torch.randn(3, 2, D)
    assert AutoRegressiveNN(D, [10], param_dims=[1])(x).shape == (3, 2, D)
    assert AutoRegressiveNN(D, [10], param_dims=[3])(x).shape == (3, 2, 3, D)
    m, s = AutoRegressiveNN(D, [10])(x)  # default [1, 1]
    assert m.shape == s.shape == (3, 2, D)
    a, b, c = AutoRegressiveNN(D, [10], param_dims=[1, 2, 1])(x)
    assert a.shape == (3, 2, D) and b.shape == (3, 2, 2, D) and c.shape == (3, 2, D)


def test_seed_signature_output_dim_multiplier_and_mask_encoding():
    torch.manual_seed(2)
    D, H = 4, 9
    enc = torch.tensor([1, 1, 2, 2, 3, 3, 1, 2, 3])
    perm = torch.tensor([3, 1, 0, 2])
    # Pyro 0.1: AutoRegressiveNN(input_dim, hidden_dim, output_dim_multiplier, mask_encoding,
    # permutation), positional
    net = AutoRegressiveNN(D, H, 2, enc, perm)
    assert torch.equal(net.get_mask_encoding(), enc)
    assert torch.equal(net.get_permutation(), perm)
    out = net(torch.randn(D))
    assert out.shape == (2, D)  # [output_dim_multiplier, input_dim]
    check_made(net, D)
    # keyword spelling; an int hidden_dim alone means the seed default multiplier 1
    net1 = AutoRegressiveNN(D, H, output_dim_multiplier=3, permutation=perm)
    assert net1(torch.randn(D)).shape == (3, D)
    assert AutoRegressiveNN(D, H)(torch.randn(D)).shape == (D,)
    # the given degrees define the first-layer mask: unit k sees inputs of degree <= enc[k]
    in_deg = torch.empty(D, dtype=torch.long)
    in_deg[perm] = torch.arange(1, D + 1)
    expected = (enc[:, None] >= in_deg[None, :]).float()
    assert torch.equal(net.layers[0].mask, expected)


def test_get_mask_encoding_default_is_evenly_spread():
    net = AutoRegressiveNN(5, [8, 12])
    enc = net.get_mask_encoding()
    assert isinstance(enc, list) and len(enc) == 2
    assert torch.equal(enc[0], torch.tensor([1, 1, 2, 2, 3, 3, 4, 4]))
    assert set(enc[1].tolist()) == {1, 2, 3, 4}


def test_sample_mask_indices():
    assert torch.equal(sample_mask_indices(4, 6), torch.tensor([1, 1, 2, 2, 3, 3]))
    torch.manual_seed(0)
    r = sample_mask_indices(5, 1000, simple=False)
    assert r.min() == 1 and r.max() == 4
    # uniform on {1..4}: each count ~ Binomial(1000, 1/4), sd ~13.7; 6 sd band
    counts = torch.bincount(r, minlength=5)[1:]
    assert torch.all((counts - 250).abs() < 82), counts
    assert torch.equal(sample_mask_indices(1, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="hidden_dim"):
        sample_mask_indices(3, 0)


def test_create_mask_shapes_and_context_columns():
    perm = torch.tensor([1, 0, 2])
    masks, skip = create_mask(3, 2, [5, 4], perm, 2)
    assert [tuple(m.shape) for m in masks] == [(5, 5), (4, 5), (6, 4)]
    assert tuple(skip.shape) == (6, 5)
    # context columns (the first two) feed every hidden unit and every output via skip
    assert torch.all(masks[0][:, :2] == 1)
    assert torch.all(skip[:, :2] == 1)
    # output rows j * D + i share input i's structure
    assert torch.equal(masks[-1][:3], masks[-1][3:])


def test_conditional_arn_depends_on_context_everywhere():
    torch.manual_seed(3)
    D, C = 4, 3
    net = ConditionalAutoRegressiveNN(D, C, [16, 16], param_dims=[1, 1])
    x, ctx = torch.randn(D), torch.randn(C)
    perm = net.get_permutation()
    for k in range(2):
        Jx = jacobian(lambda v: net(v, ctx)[k], x)
        P = Jx[perm][:, perm]
        assert torch.all(P == torch.tril(P, diagonal=-1))
        Jc = jacobian(lambda c: net(x, c)[k], ctx)
        assert Jc.shape == (D, C)
        assert (Jc.abs().sum(1) > 0).all()  # every output sees the context
    # context broadcasts against a batch of inputs
    m, s = net(torch.randn(5, D), ctx)
    assert m.shape == (5, D)
    with pytest.raises(ValueError, match="context"):
        net(x)


def test_masked_linear_mask_gradient_and_device_dtype():
    torch.manual_seed(0)
    mask = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    layer = MaskedLinear(3, 2, mask)
    x = torch.randn(4, 3)
    assert torch.allclose(layer(x), x @ (layer.weight * mask).T + layer.bias, atol=1e-6)
    layer(x).pow(2).sum().backward()
    assert torch.all(layer.weight.grad[mask == 0] == 0)
    assert torch.all(layer.weight.grad[mask == 1] != 0)
    # the mask is a buffer: it follows dtype changes and the state dict
    layer64 = MaskedLinear(3, 2, mask).double()
    assert layer64.mask.dtype == torch.float64
    assert "mask" in layer64.state_dict()
    nobias = MaskedLinear(3, 2, mask, bias=False)
    assert nobias.bias is None
    assert torch.allclose(nobias(x), x @ (nobias.weight * mask).T)
    with pytest.raises(ValueError, match=r"\(out_features, in_features\) = \(2, 3\)"):
        MaskedLinear(3, 2, mask.T)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="permutation of range"):
        AutoRegressiveNN(3, [6], permutation=torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="param_dims"):
        AutoRegressiveNN(3, [6], param_dims=[0])
    with pytest.raises(ValueError, match="shape"):
        AutoRegressiveNN(3, [6])(torch.randn(4))
    with pytest.raises(ValueError, match="mask_encoding"):
        AutoRegressiveNN(3, 4, mask_encoding=torch.tensor([1, 2, 3, 1]))
    with pytest.warns(UserWarning, match="below input_dim"):
        AutoRegressiveNN(6, [3])


def test_one_dimensional_input_gives_constant_outputs():
    net = AutoRegressiveNN(1, [4], param_dims=[1, 1])
    m1, s1 = net(torch.randn(1))
    m2, s2 = net(torch.randn(1))
    assert torch.equal(m1, m2) and torch.equal(s1, s2)
