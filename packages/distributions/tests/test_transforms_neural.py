"""Neural, block and polynomial autoregressive flows, generalized channel permutations and
batch norm: log_abs_det_jacobian against the autograd Jacobian, inverses, shapes,
conditional versions, and the autoregressive structure."""
import math

import pytest
import torch
from torch.autograd.functional import jacobian

import pyro.distributions as dist
import pyro.distributions.transforms as T
from pyro.distributions.transforms.block_autoregressive import (
    MaskedBlockLinear,
    log_matrix_product,
)

D = 3
CONTEXT = 2


def x_of(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def check_inverse(t, x):
    """The numerical inverse recovers ``x`` and has the inverse Jacobian."""
    y = t(x)
    assert torch.allclose(t._inverse(y.clone()), x, atol=1e-9)
    xi, yi = x.reshape(-1, x.size(-1))[0], y.reshape(-1, y.size(-1))[0].clone()
    jac_inv = jacobian(t._inverse, yi)
    jac = jacobian(t._call, xi)
    assert torch.allclose(jac_inv @ jac, torch.eye(x.size(-1), dtype=x.dtype), atol=1e-8)
    assert t.inv(y) is x  # the cache


def check_logdet(t, x):
    y = t(x)
    ladj = t.log_abs_det_jacobian(x, y)
    assert ladj.shape == x.shape[:-1]
    for i, xi in enumerate(x.reshape(-1, x.size(-1))):
        jac = jacobian(lambda v: t._call(v), xi)
        assert torch.allclose(ladj.reshape(-1)[i], torch.linalg.slogdet(jac)[1], atol=1e-8)
        # autoregressive: lower triangular in the flow's order
        perm = t.arn.get_permutation() if hasattr(t, "arn") else torch.arange(x.size(-1))
        assert torch.equal(jac[perm][:, perm].triu(1), torch.zeros_like(jac))
    assert torch.allclose(t.log_abs_det_jacobian(x.clone(), y.clone()), ladj, atol=1e-10)
    return y


BLOCK = {
    "default": lambda: T.block_autoregressive(D),
    "sigmoid_gated": lambda: T.BlockAutoregressive(D, [2, 3], "sigmoid", "gated"),
    "elu_normal": lambda: T.BlockAutoregressive(D, [4], "ELU", "normal"),
    "leaky": lambda: T.BlockAutoregressive(D, [2], "LeakyReLU"),
}


@pytest.mark.parametrize("name", sorted(BLOCK))
def test_block_autoregressive(name):
    t = BLOCK[name]().double()
    assert t.autoregressive
    check_logdet(t, x_of(4, D))
    check_logdet(t, x_of(2, 2, D))
    check_inverse(t, x_of(5, D))


def test_block_autoregressive_without_residual_is_bounded():
    t = T.block_autoregressive(2).double()
    with pytest.raises(ValueError, match="range"):
        t._inverse(torch.full((2,), 1e6, dtype=torch.float64))


def test_block_autoregressive_errors_and_parameters():
    with pytest.raises(ValueError, match="activation"):
        T.BlockAutoregressive(2, activation="relu")
    with pytest.raises(ValueError, match="residual"):
        T.BlockAutoregressive(2, residual="skip")
    names = {n: tuple(p.shape) for n, p in T.block_autoregressive(3).named_parameters()}
    assert names["layers.0._weight"] == (24, 3) and names["layers.1._weight"] == (24, 24)
    assert names["layers.2._diag_weight"] == (3, 1)


def test_masked_block_linear_structure():
    layer = MaskedBlockLinear(6, 9, 3).double()
    w, _ = layer.get_weights()
    # output block i (3 rows) sees input blocks <= i (2 columns each); diagonal positive
    for i in range(3):
        for j in range(3):
            block = w[3 * i: 3 * i + 3, 2 * j: 2 * j + 2]
            if j > i:
                assert torch.equal(block, torch.zeros_like(block))
            if j == i:
                assert (block > 0).all()
    # rows have norm exp(_diag_weight)
    assert torch.allclose(w.norm(dim=-1, keepdim=True), layer._diag_weight.exp())
    y, log_diag = layer(x_of(5, 6))
    assert y.shape == (5, 9) and log_diag.shape == (3, 3, 2)
    assert torch.allclose(log_diag[1].exp(), w[3:6, 2:4])
    with pytest.raises(ValueError, match="multiples"):
        MaskedBlockLinear(5, 9, 3)


def test_log_matrix_product():
    a, b = x_of(2, 3, 4), x_of(4, 5)
    assert torch.allclose(log_matrix_product(a, b), (a.exp() @ b.exp()).log())


def nn_only(name, reason):
    """Skip unless ``name`` (pyro.nn, which the helpers build networks from) imports."""
    pytest.importorskip(name, reason=reason)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "ELU", "LeakyReLU"])
def test_neural_autoregressive(activation):
    nn_only("pyro.nn", reason="neural_autoregressive builds a pyro.nn network")
    t = T.neural_autoregressive(D, activation=activation, width=5).double()
    check_logdet(t, x_of(4, D))
    check_logdet(t, x_of(D))
    check_inverse(t, x_of(6, D))


def test_neural_autoregressive_errors():
    nn_only("pyro.nn", reason="neural_autoregressive builds a pyro.nn network")
    with pytest.raises(ValueError, match="activation"):
        T.neural_autoregressive(2, activation="softsign")


def test_polynomial():
    nn_only("pyro.nn", reason="polynomial builds a pyro.nn network")
    t = T.polynomial(D).double()
    assert {n for n, _ in t.named_parameters()} >= {"c"}
    y = check_logdet(t, x_of(5, D))
    assert y.shape == (5, D)
    # y is c plus the integral from 0: zero input in the first dimension of the order gives c
    first = t.arn.get_permutation()[0]
    x = x_of(D)
    x[first] = 0.0
    assert torch.allclose(t(x)[first], t.c[first])
    check_inverse(t, x_of(4, D))


def test_polynomial_integral_matches_quadrature():
    nn_only("pyro.nn", reason="polynomial builds a pyro.nn network")
    t = T.polynomial(2).double()
    x = x_of(2)
    # the first dimension in the order has constant coefficients: integrate numerically
    first = t.arn.get_permutation()[0]
    u = torch.linspace(0, 1, 20001, dtype=torch.float64) * x[first]
    xs = x.expand(u.numel(), 2).clone()
    xs[:, first] = u
    a = t._coefficients(xs)[..., first]  # (n, K, R + 1)
    powers = u.unsqueeze(-1) ** torch.arange(a.size(-1), dtype=torch.float64)
    integrand = (a * powers.unsqueeze(-2)).sum(-1).pow(2).sum(-1)
    integral = torch.trapezoid(integrand, u)
    assert torch.allclose(t(x)[first] - t.c[first], integral, atol=1e-6)


# ------------------------------------------------------------------ channel permutations


def test_generalized_channel_permute():
    t = T.generalized_channel_permute(channels=3).double()
    assert t.event_dim == 3
    x = x_of(2, 3, 4, 5)
    y = t(x)
    assert y.shape == x.shape
    assert torch.allclose(t._inverse(y), x)
    w = t.permutation @ (t.LU.tril(-1) + torch.eye(3, dtype=torch.float64)) @ t.LU.triu()
    assert torch.allclose(y, torch.einsum("ij,bjhw->bihw", w, x))
    # at start W is a rotation (built in float32): volume preserving
    assert torch.allclose(t.log_abs_det_jacobian(x, y), torch.zeros(2, dtype=torch.float64),
                          atol=1e-5)
    with torch.no_grad():
        t.LU.add_(0.3 * torch.randn(3, 3, dtype=torch.float64))
    x1 = x_of(3, 2, 2)
    jac = jacobian(t._call, x1).reshape(12, 12)
    assert torch.allclose(t.log_abs_det_jacobian(x1, t(x1)), torch.linalg.slogdet(jac)[1])


def test_generalized_channel_permute_given_permutation():
    t = T.GeneralizedChannelPermute(channels=3, permutation=torch.tensor([2, 0, 1]))
    x = torch.randn(3, 2, 2)
    assert torch.allclose(t(x), x[[2, 0, 1]])  # LU starts at the identity
    with pytest.raises(ValueError, match="permutation"):
        T.GeneralizedChannelPermute(channels=3, permutation=torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="images"):
        t(torch.randn(4, 2, 2))


def test_conditional_generalized_channel_permute():
    nn_only("pyro.nn", reason="the helper builds a pyro.nn network")
    cond = T.conditional_generalized_channel_permute(CONTEXT, channels=3).double()
    contexts = x_of(4, CONTEXT)
    x = x_of(4, 3, 2, 2)
    t = cond.condition(contexts)
    y = t(x)
    assert torch.allclose(t._inverse(y), x)
    for i in range(4):
        ti = cond.condition(contexts[i])
        assert torch.allclose(y[i], ti(x[i]))
        jac = jacobian(ti._call, x[i]).reshape(12, 12)
        assert torch.allclose(t.log_abs_det_jacobian(x, y)[i], torch.linalg.slogdet(jac)[1])


@pytest.mark.parametrize("name", ["neural", "neural_tanh"])
def test_conditional_neural_autoregressive(name):
    nn_only("pyro.nn", reason="the helper builds a pyro.nn network")
    activation = "tanh" if name.endswith("tanh") else "sigmoid"
    cond = T.conditional_neural_autoregressive(D, CONTEXT, activation=activation).double()
    assert isinstance(cond, dist.conditional.ConditionalTransformModule)
    context = x_of(CONTEXT)
    check_logdet(cond.condition(context), x_of(4, D))
    contexts, x = x_of(4, CONTEXT), x_of(4, D)
    y = cond.condition(contexts)(x)
    for i in range(4):
        assert torch.allclose(y[i], cond.condition(contexts[i])(x[i]))


# ------------------------------------------------------------------ batch norm


def test_batchnorm_training_and_eval():
    t = T.batchnorm(2, momentum=0.1).double()
    data = 3 * x_of(500, 2) + 1
    t.train()
    base = t.inv(data)
    # training: the inverse standardizes the batch (unbiased variance)
    assert torch.allclose(base.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(base.std(0), torch.ones(2, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(t.moving_mean, 0.1 * data.mean(0))
    assert torch.allclose(t.moving_variance, 0.9 + 0.1 * data.var(0))
    ladj = t.log_abs_det_jacobian(base, data)
    assert ladj.shape == (500, 2)
    assert torch.allclose(ladj[0], 0.5 * torch.log(data.var(0) + 1e-5))
    t.eval()
    x = x_of(4, 2)
    y = t(x)
    assert torch.allclose(t._inverse(y), x)
    jac = torch.func.vmap(torch.func.grad(lambda v: t._call(v).sum()))(x)
    assert torch.allclose(t.log_abs_det_jacobian(x, y), jac.log())


def test_batchnorm_gamma_constraint_and_density():
    t = T.BatchNorm(2).double()
    with torch.no_grad():
        t.gamma.fill_(-1.0)
    t.eval()
    x = torch.zeros(2, dtype=torch.float64)
    assert torch.allclose(t.log_abs_det_jacobian(x, t(x)),
                          torch.full((2,), -math.log(1e-6), dtype=torch.float64))
    t.train()
    base = dist.Normal(torch.zeros(2, dtype=torch.float64), 1.0).to_event(1)
    flow_dist = dist.TransformedDistribution(base, [T.BatchNorm(2).double()])
    assert flow_dist.log_prob(x_of(10, 2)).shape == (10,)
    with pytest.raises(ValueError, match="batch"):
        T.BatchNorm(2)._inverse(torch.zeros(1, 2))


def test_neural_autoregressive_output_order_is_a_w_b():
    # a network that ignores its input: (a, w, b) in Pyro's order, shapes (H, D)
    a = torch.tensor([[0.5, 1.0], [2.0, -1.0]], dtype=torch.float64)
    w = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    b = torch.tensor([[0.1, -0.3], [0.2, 0.4]], dtype=torch.float64)

    class Fixed(torch.nn.Module):
        def forward(self, x):
            shape = x.shape[:-1] + a.shape
            return a.expand(shape), w.expand(shape), b.expand(shape)

    t = T.NeuralAutoregressive(Fixed(), hidden_units=2)
    x = x_of(5, 2)
    weights = torch.softmax(w, dim=-2)
    s = (weights * torch.sigmoid(torch.nn.functional.softplus(a) * x.unsqueeze(-2) + b)).sum(-2)
    assert torch.allclose(t(x), torch.logit(s))


def test_numerical_inverse_parameter_gradients():
    nn_only("pyro.nn", reason="neural_autoregressive builds a pyro.nn network")
    # d x / d theta of the inverse against central finite differences
    t = T.neural_autoregressive(D, width=4).double()
    y = x_of(D)
    param = t.arn.layers[0].bias
    t._inverse(y).sum().backward()
    grad = param.grad[0].item()
    eps = 1e-6
    with torch.no_grad():
        param[0] += eps
        up = t._inverse(y).sum().item()
        param[0] -= 2 * eps
        down = t._inverse(y).sum().item()
    assert grad == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-8)
