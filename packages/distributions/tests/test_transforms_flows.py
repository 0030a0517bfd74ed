"""Normalizing flows and bijections: inverse(forward(x)) == x, log_abs_det_jacobian against
the log |det| of the autograd Jacobian, batch shapes, and conditional versions."""
import math

import pytest
import torch
from torch.autograd.functional import jacobian

import pyro.distributions as dist
import pyro.distributions.transforms as T

D = 4
CONTEXT = 3


def _has_nn():
    try:
        import pyro.nn  # noqa: F401
    except ImportError:
        return False
    return True


needs_nn = pytest.mark.skipif(not _has_nn(), reason="the helper builds a pyro.nn network")


def _inverse(t, y):
    # the computation itself, not the cache of the forward call
    return t._inverse(y)


def check_flow(t, x, invertible=True, event_dim=1, atol=1e-7):
    """Inverse, log-det against the autograd Jacobian (per batch element) and shapes."""
    y = t(x)
    assert y.shape == x.shape
    if invertible:
        assert torch.allclose(_inverse(t, y), x, atol=atol, rtol=1e-6)
    ladj = t.log_abs_det_jacobian(x, y)
    batch_shape = x.shape[: x.dim() - event_dim]
    assert ladj.shape == batch_shape
    flat_x = x.reshape((-1,) + x.shape[x.dim() - event_dim :])
    for i, xi in enumerate(flat_x):
        jac = jacobian(lambda v: t._call(v), xi)
        n = xi.numel()
        _, logdet = torch.linalg.slogdet(jac.reshape(n, n))
        assert torch.allclose(ladj.reshape(-1)[i], logdet, atol=1e-6, rtol=1e-6), (
            ladj.reshape(-1)[i], logdet)
    return y


def x_of(*shape):
    return torch.randn(*shape, dtype=torch.float64)


FLOWS = {
    "planar": lambda: T.planar(D),
    "radial": lambda: T.radial(D),
    "householder": lambda: T.householder(D, count_transforms=3),
    "matrix_exponential": lambda: T.matrix_exponential(D, iterations=20),
    "matrix_exponential_weight": lambda: T.matrix_exponential(
        D, iterations=20, normalization="weight", bound=0.5),
    "matrix_exponential_spectral": lambda: T.matrix_exponential(
        D, iterations=20, normalization="spectral", bound=0.5),
    "sylvester": lambda: T.sylvester(D),
}


def check_inverse_gradients(t, y):
    """The Jacobian of the (numerical) inverse is the inverse of the forward Jacobian."""
    jac_inv = jacobian(t._inverse, y)
    jac = jacobian(t._call, t._inverse(y).detach())
    assert torch.allclose(jac_inv @ jac, torch.eye(y.numel(), dtype=y.dtype), atol=1e-8)


@pytest.mark.parametrize("name", ["planar", "sylvester"])
def test_numerical_inverse(name):
    t = {"planar": T.Planar, "sylvester": T.sylvester}[name](D).double()
    with torch.no_grad():  # away from the initial near-identity map
        for p in t.parameters():
            p.mul_(3)
    x = x_of(50, D)
    assert torch.allclose(t._inverse(t(x).clone()), x, atol=1e-10)
    check_inverse_gradients(t, x_of(D))
    y = t(x)
    assert t.inv(y) is x  # the cache


CONDITIONAL = {
    "planar": lambda: T.conditional_planar(D, CONTEXT),
    "radial": lambda: T.conditional_radial(D, CONTEXT),
    "householder": lambda: T.conditional_householder(D, CONTEXT, count_transforms=2),
    "matrix_exponential": lambda: T.conditional_matrix_exponential(D, CONTEXT, iterations=20),
}


@needs_nn
@pytest.mark.parametrize("name", sorted(CONDITIONAL))
def test_conditional_flow(name):
    cond = CONDITIONAL[name]().double()
    assert isinstance(cond, dist.conditional.ConditionalTransformModule)
    context = x_of(CONTEXT)
    t = cond.condition(context)
    check_flow(t, x_of(5, D))
    # a batch of contexts gives one transform per batch element
    contexts = x_of(5, CONTEXT)
    x = x_of(5, D)
    y = cond.condition(contexts)(x)
    for i in range(5):
        assert torch.allclose(y[i], cond.condition(contexts[i])(x[i]), atol=1e-10)
    # the parameters are learnable through the context network
    y.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in cond.parameters())


@needs_nn
def test_conditional_transformed_distribution_log_prob():
    cond = T.conditional_planar(D, CONTEXT).double()
    base = dist.Normal(torch.zeros(D, dtype=torch.float64), 1.0).to_event(1)
    flow_dist = dist.ConditionalTransformedDistribution(base, [cond])
    context = x_of(CONTEXT)
    d = flow_dist.condition(context)
    y = d.sample(torch.Size([7]))
    assert y.shape == (7, D)
    x = cond.condition(context)._inverse(y)
    t = cond.condition(context)
    expected = base.log_prob(x) - t.log_abs_det_jacobian(x, y)
    assert torch.allclose(d.log_prob(y), expected, atol=1e-8)


def test_planar_parameters_and_invertibility_constraint():
    t = T.Planar(3)
    assert {n: tuple(p.shape) for n, p in t.named_parameters()} == {
        "bias": (1,), "u": (3,), "w": (3,)}
    with torch.no_grad():  # w.u very negative: u_hat is corrected so that w.u_hat >= -1
        t.w.copy_(torch.tensor([1.0, 0.0, 0.0]))
        t.u.copy_(torch.tensor([-5.0, 0.0, 0.0]))
    _, u_hat, w = t._unpack()
    assert (u_hat * w).sum() >= -1
    check_flow(t.double(), x_of(6, 3))


def test_radial_inverse_is_closed_form():
    t = T.Radial(3).double()
    y = x_of(1000, 3) * 3
    assert torch.allclose(t(_inverse(t, y)), y, atol=1e-10)


def test_householder_is_orthogonal():
    t = T.Householder(D, count_transforms=3).double()
    x = x_of(10, D)
    assert torch.allclose(t(x).norm(dim=-1), x.norm(dim=-1))
    assert torch.equal(t.log_abs_det_jacobian(x, t(x)), torch.zeros(10, dtype=torch.float64))
    assert T.householder(5).u_unnormed.shape == (3, 5)
    with pytest.raises(ValueError, match="count_transforms"):
        T.Householder(3, count_transforms=0)


def test_sylvester_parameters():
    t = T.sylvester(6)
    shapes = {n: tuple(p.shape) for n, p in t.named_parameters()}
    assert shapes == {"u_unnormed": (4, 6), "R_dense": (6, 6), "S_dense": (6, 6),
                      "R_diag": (6,), "S_diag": (6,), "b": (6,)}


def test_matrix_exponential_matches_torch_and_normalization():
    t = T.MatrixExponential(3, iterations=30).double()
    x = x_of(3)
    expected = torch.linalg.matrix_exp(t.weights) @ x
    assert torch.allclose(t(x), expected, atol=1e-10)
    with torch.no_grad():
        t.weights.mul_(10)
    s = T.MatrixExponential(3, normalization="spectral", bound=0.5).double()
    with torch.no_grad():
        s.weights.copy_(t.weights)
    assert torch.linalg.matrix_norm(s._weights(), ord=2) <= 0.5 + 1e-9
    w = T.MatrixExponential(3, normalization="weight", bound=0.5).double()
    with torch.no_grad():
        w.weights.copy_(t.weights)
    assert torch.linalg.matrix_norm(w._weights()) <= 0.5 + 1e-9
    with pytest.raises(ValueError, match="bound"):
        T.MatrixExponential(3, normalization="weight")
    with pytest.raises(ValueError, match="normalization"):
        T.MatrixExponential(3, normalization="batch", bound=1.0)


# ------------------------------------------------------------------ elementwise bijections


@pytest.mark.parametrize("t", [T.ELUTransform(), T.LeakyReLUTransform(), T.elu(),
                               T.leaky_relu(), T.basic.tanh(),
                               T.PositivePowerTransform(torch.tensor(2.5, dtype=torch.float64)),
                               T.PositivePowerTransform(0.5)])
def test_elementwise(t):
    x = x_of(20)
    y = t(x)
    assert torch.allclose(t.inv(y.clone()), x, atol=1e-6)
    grads = torch.func.vmap(torch.func.grad(t))(x)
    assert torch.allclose(t.log_abs_det_jacobian(x, y), grads.abs().log(), atol=1e-6)
    assert t.codomain.check(y).all()


def test_positive_power_is_odd():
    t = T.PositivePowerTransform(3.0)
    x = torch.tensor([-2.0, -0.5, 0.5, 2.0])
    assert torch.allclose(t(x), torch.tensor([-8.0, -0.125, 0.125, 8.0]))
    assert torch.allclose(t.inv(torch.tensor([-8.0, 27.0])), torch.tensor([-2.0, 3.0]))


def test_elu_codomain():
    assert T.ELUTransform().codomain.lower_bound == -1.0
    assert torch.allclose(T.ELUTransform().inv(torch.tensor([-0.5, 0.0, 2.0])),
                          torch.tensor([math.log(0.5), 0.0, 2.0]))


# ------------------------------------------------------------------ matrices and simplices


def test_cholesky_transform():
    t = T.CholeskyTransform()
    a = torch.randn(3, 5, dtype=torch.float64)
    x = a @ a.T + torch.eye(3, dtype=torch.float64)
    y = t(x)
    assert torch.allclose(y @ y.T, x)
    assert torch.allclose(t.inv(y), x)
    assert t.codomain.check(y)
    # Jacobian between the lower triangles of x and y (x symmetric)
    idx = torch.tril_indices(3, 3)

    def fn(v):
        m = torch.zeros(3, 3, dtype=v.dtype).index_put((idx[0], idx[1]), v)
        m = m + m.tril(-1).T
        return torch.linalg.cholesky(m)[idx[0], idx[1]]

    jac = jacobian(fn, x[idx[0], idx[1]])
    assert torch.allclose(t.log_abs_det_jacobian(x, y), torch.linalg.slogdet(jac)[1])
    # the value Pyro gives for [[2, .5], [.5, 1]]
    x2 = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    assert abs(t.log_abs_det_jacobian(x2, t(x2)).item() - (-2.0127)) < 1e-3


@pytest.mark.parametrize("anchor", [None, 0.0, torch.tensor(0.7), torch.tensor([0.0, -1.0])])
def test_simplex_to_ordered(anchor):
    t = T.SimplexToOrderedTransform(anchor)
    x = dist.Dirichlet(torch.ones(4, dtype=torch.float64)).sample((2,))
    y = t(x)
    assert y.shape == (2, 3)
    assert t.codomain.check(y).all()
    assert torch.allclose(t.inv(y), x)
    # OrderedLogistic with these cut-points at the anchor recovers the probabilities
    a = t.anchor_point if isinstance(t.anchor_point, torch.Tensor) else torch.tensor(0.0)
    probs = dist.OrderedLogistic(a.double().expand(2), y).probs
    assert torch.allclose(probs, x, atol=1e-10)
    jac = []
    for xi, ai in zip(x, t.anchor_point.expand(2)):
        ti = T.SimplexToOrderedTransform(ai)
        jac.append(jacobian(lambda v: ti(torch.cat([v, 1 - v.sum(-1, keepdim=True)])), xi[:-1]))
    jac = torch.stack(jac)
    assert torch.allclose(t.log_abs_det_jacobian(x, y), torch.linalg.slogdet(jac)[1])
    assert t.forward_shape((5, 4)) == (5, 3) and t.inverse_shape((5, 3)) == (5, 4)


# ------------------------------------------------------------------ DCT and Haar


def test_dct_matches_scipy():
    fft = pytest.importorskip("scipy.fft")
    x = x_of(3, 7)
    expected = torch.from_numpy(fft.dct(x.numpy(), norm="ortho"))
    assert torch.allclose(T.DiscreteCosineTransform()(x), expected)
    # along another dim, with smoothing weights (k + 1/2)^s normalized to product one
    t = T.DiscreteCosineTransform(dim=-2, smooth=1.0)
    k = torch.arange(7, dtype=torch.float64) + 0.5
    weights = k / k.log().mean().exp()
    assert torch.allclose(t(x.T), (expected * weights).T)


def test_haar_matches_pyro_layout():
    # coarsest average first, then details from coarse to fine (Pyro 1.9's layout)
    r = 1 / math.sqrt(2)
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    expected = torch.tensor([0.5 * (1 + 2 + 3 + 4), 0.5 * (1 + 2 - 3 - 4), r * (5 + 6),
                             r * (1 - 2), r * (3 - 4), r * (5 - 6)])
    assert torch.allclose(T.HaarTransform()(x), expected)
    assert torch.allclose(T.HaarTransform(flip=True)(x.flip(-1)), expected)
    assert T.HaarTransform()(torch.arange(7.0))[-1] == 6.0
    for n in range(1, 12):
        m = T.HaarTransform()(torch.eye(n, dtype=torch.float64))
        assert torch.allclose(m @ m.T, torch.eye(n, dtype=torch.float64))  # orthonormal


@pytest.mark.parametrize("t", [
    T.DiscreteCosineTransform(), T.DiscreteCosineTransform(smooth=1.0),
    T.DiscreteCosineTransform(dim=-2, smooth=-0.5), T.HaarTransform(),
    T.HaarTransform(flip=True), T.HaarTransform(dim=-2)])
def test_spectral_transforms(t):
    x = x_of(3, 5, 4)
    check_flow(t, x, event_dim=-t.dim)
    assert t.event_dim == -t.dim


def test_dct_smoothing_whitens_brownian_noise():
    t = T.DiscreteCosineTransform(smooth=1.0)
    x = torch.randn(4000, 64).cumsum(-1)  # Brownian motion
    power = t(x).var(0)
    raw = T.DiscreteCosineTransform()(x).var(0)
    # the frequency weights (k + 1/2) flatten the 1/f^2 spectrum (up to the discreteness
    # of the DCT basis near the Nyquist frequency)
    assert raw.max() / raw.min() > 100
    assert power.max() / power.min() < 4
    assert torch.allclose(t.log_abs_det_jacobian(x, t(x)), torch.zeros(4000))
    assert torch.isclose(T.HaarTransform(flip=True)(torch.arange(4.0))[1], torch.tensor(2.0))


def test_clamp_preserve_gradients():
    x = torch.tensor([-3.0, 0.5, 3.0], requires_grad=True)
    y = T.utils.clamp_preserve_gradients(x, -1.0, 1.0)
    assert torch.equal(y, torch.tensor([-1.0, 0.5, 1.0]))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(3))


@needs_nn
def test_conditional_compose_transform_module():
    from pyro.distributions.conditional import ConditionalComposeTransformModule

    cond = T.conditional_planar(D, CONTEXT)
    plain = T.Planar(D)
    chain = ConditionalComposeTransformModule([cond, plain, T.ExpTransform()])
    # the networks of every module part are registered
    assert {id(p) for p in chain.parameters()} == (
        {id(p) for p in cond.parameters()} | {id(p) for p in plain.parameters()})
    context, x = torch.randn(CONTEXT), torch.randn(5, D)
    t = chain.condition(context)
    assert isinstance(t, T.ComposeTransformModule)
    expected = T.ExpTransform()(plain(cond.condition(context)(x)))
    assert torch.allclose(t(x), expected)
    assert t.log_abs_det_jacobian(x, t(x)).shape == (5,)
