import pytest
import torch

from pyro.nn import ConditionalDenseNN, DenseNN


def test_dense_nn_shapes_and_composition():
    torch.manual_seed(0)
    net = DenseNN(3, [8, 8], param_dims=[1, 2])
    x = torch.randn(5, 3)
    a, b = net(x)
    assert a.shape == (5, 1) and b.shape == (5, 2)
    # an independent evaluation of the same layers
    h = torch.relu(net.layers[0](x))
    h = torch.relu(net.layers[1](h))
    out = net.layers[2](h)
    assert torch.allclose(torch.cat([a, b], -1), out)
    assert DenseNN(3, [4], param_dims=[2])(x).shape == (5, 2)


def test_conditional_dense_nn_concatenates_context_first():
    torch.manual_seed(1)
    net = ConditionalDenseNN(2, 3, [6], param_dims=[1, 1], nonlinearity=torch.nn.Tanh())
    x, ctx = torch.randn(4, 2), torch.randn(3)
    m, s = net(x, ctx)
    assert m.shape == s.shape == (4, 1)
    h = torch.tanh(net.layers[0](torch.cat([ctx.expand(4, 3), x], -1)))
    assert torch.allclose(torch.cat([m, s], -1), net.layers[1](h))
    with pytest.raises(ValueError, match="context"):
        net(x)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        net(torch.randn(4, 3), ctx)


def test_context_errors_name_the_network_and_the_shapes():
    net = ConditionalDenseNN(2, 3, [4])
    with pytest.raises(ValueError, match=r"ConditionalDenseNN needs a context of shape "
                                         r"batch_shape \+ \(3,\); got \(2,\)"):
        net(torch.randn(2), torch.randn(2))
    with pytest.raises(ValueError, match=r"context_dim=3: pass a context"):
        net(torch.randn(2))
    with pytest.raises(ValueError, match=r"no context input \(context_dim=0\)"):
        ConditionalDenseNN(2, 0, [4])(torch.randn(2), torch.randn(3))
