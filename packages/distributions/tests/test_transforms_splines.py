"""Spline, coupling and autoregressive flows: inverse, log-det against the autograd Jacobian,
shapes, conditional versions, and Pyro 1.9's numbers for given spline parameters."""
import pytest
import torch
from torch.autograd.functional import jacobian

import pyro.distributions as dist
import pyro.distributions.transforms as T
from pyro.distributions.transforms.spline import _knots, monotonic_rational_spline

D = 4
CONTEXT = 3
pytest.importorskip("pyro.nn", reason="the flow helpers build pyro.nn networks")


def x_of(*shape, scale=1.5):
    return scale * torch.randn(*shape, dtype=torch.float64)


def check_flow(t, x, event_dim=None):
    y = t(x)
    assert y.shape == x.shape
    assert torch.allclose(t._inverse(y), x, atol=1e-8)
    ladj = t.log_abs_det_jacobian(x, y)
    if event_dim is None:
        event_dim = t.event_dim
    assert ladj.shape == x.shape[: x.dim() - event_dim]
    if event_dim == 0:  # elementwise: compare the sum over the last dim
        ladj, event_dim = ladj.sum(-1), 1
    flat = x.reshape((-1,) + x.shape[x.dim() - event_dim :])
    for i, xi in enumerate(flat):
        n = xi.numel()
        jac = jacobian(lambda v: t._call(v), xi).reshape(n, n)
        assert torch.allclose(ladj.reshape(-1)[i], torch.linalg.slogdet(jac)[1], atol=1e-7)
    # log_abs_det_jacobian of a pair it did not compute itself
    again = t.log_abs_det_jacobian(x.clone(), y.clone())
    assert torch.allclose(again.reshape(ladj.shape + (-1,)).sum(-1), ladj, atol=1e-10)
    return y


FLOWS = {
    "spline_linear": lambda: T.spline(D),
    "spline_quadratic": lambda: T.Spline(D, count_bins=5, bound=2.0, order="quadratic"),
    "spline_autoregressive": lambda: T.spline_autoregressive(D, hidden_dims=[16]),
    "spline_autoregressive_quadratic": lambda: T.spline_autoregressive(
        D, count_bins=2, order="quadratic"),
    "spline_coupling": lambda: T.spline_coupling(D),
    "spline_coupling_identity": lambda: T.SplineCoupling(
        D, 1, T.spline_coupling(D, split_dim=1).nn, identity=True),
    "affine_coupling": lambda: T.affine_coupling(D),
    "affine_coupling_split1": lambda: T.affine_coupling(D, split_dim=1, hidden_dims=[7, 7]),
    "affine_autoregressive": lambda: T.affine_autoregressive(D),
}


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_flow(name):
    t = FLOWS[name]().double()
    x = x_of(6, D)
    x[0, 0] = 10.0  # outside the spline interval: identity there
    check_flow(t, x)
    check_flow(t, x_of(2, 3, D))
    check_flow(t, x_of(D))
    assert t.inv(t(x)) is x  # cached pair


def test_spline_is_elementwise():
    t = T.Spline(3, count_bins=6).double()
    x = x_of(5, 3)
    assert t.event_dim == 0
    y = check_flow(t, x)
    assert torch.equal(t(torch.full((3,), 5.0, dtype=torch.float64)),
                       torch.full((3,), 5.0, dtype=torch.float64))
    assert y.shape == (5, 3)


@pytest.mark.parametrize("order", ["linear", "quadratic"])
def test_spline_derivative_is_continuous_and_positive(order):
    t = T.Spline(2, count_bins=6, order=order).double()
    knots = _knots(t.unnormalized_widths.double(), 3.0, 1e-3)[:, 1:-1].T
    eps = 1e-9
    left = t.log_abs_det_jacobian(knots - eps, t(knots - eps))
    right = t.log_abs_det_jacobian(knots + eps, t(knots + eps))
    assert torch.allclose(left, right, atol=1e-5)
    grid = torch.linspace(-3.2, 3.2, 2001, dtype=torch.float64).unsqueeze(-1).expand(-1, 2)
    assert (t(grid).diff(dim=0) > 0).all()


# pyro-ppl 1.9.2, Spline(2, count_bins=4, order=...) with these parameters, at
# x = linspace(-3.5, 3.5, 9): y[:, 0] and log|dy/dx|[:, 1]
PYRO_REFERENCE = {
    "linear": (
        [-3.5, -2.692084550857544, -2.274894952774048, -1.8219830989837646,
         -0.6381175518035889, 0.390267938375473, 0.7858791351318359, 2.5613949298858643, 3.5],
        [0.0, 0.0454484224319458, -0.5144374966621399, -1.4519991874694824,
         2.3548474311828613, -0.7108182907104492, -0.21433281898498535,
         -0.06742286682128906, 0.0]),
    "quadratic": (
        [-3.5, -2.709040403366089, -2.317004680633545, -1.869067668914795,
         -0.656043291091919, 0.32229942083358765, 0.9307411909103394, 2.5043582916259766, 3.5],
        [0.0, 0.14367440342903137, -0.9350876808166504, -2.083500862121582,
         2.1178178787231445, -0.8017563819885254, -0.20130616426467896,
         -0.004234254360198975, 0.0]),
}


@pytest.mark.parametrize("order", ["linear", "quadratic"])
def test_spline_matches_pyro(order):
    # the same draws as in the reference script (torch.manual_seed(1) then randn in order)
    torch.manual_seed(1)
    names = ["unnormalized_widths", "unnormalized_heights", "unnormalized_derivatives",
             "unnormalized_lambdas"]
    params = {k: torch.randn(2, 3 if k == "unnormalized_derivatives" else 4) for k in names}
    t = T.Spline(2, count_bins=4, order=order)
    with torch.no_grad():
        for k, v in params.items():
            if hasattr(t, k):
                getattr(t, k).copy_(v)
    x = torch.linspace(-3.5, 3.5, 9).unsqueeze(-1).expand(-1, 2)
    y = t(x)
    ys, ladj = PYRO_REFERENCE[order]
    assert torch.allclose(y[:, 0], torch.tensor(ys), atol=1e-5)
    assert torch.allclose(t.log_abs_det_jacobian(x, y)[:, 1], torch.tensor(ladj), atol=1e-5)


def test_monotonic_rational_spline_inverse_logdet():
    x = x_of(100, 3)
    params = [torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64),
              torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)]
    y, ld = monotonic_rational_spline(x, *params)
    x2, ld_inv = monotonic_rational_spline(y, *params, inverse=True)
    assert torch.allclose(x2, x, atol=1e-10)
    assert torch.allclose(ld_inv, -ld, atol=1e-8)


def test_spline_errors():
    with pytest.raises(ValueError, match="order"):
        T.Spline(2, order="cubic")
    with pytest.raises(ValueError, match="split_dim"):
        T.SplineCoupling(3, 3, T.spline_coupling(3).nn)


def test_spline_coupling_parameters():
    t = T.spline_coupling(3)
    names = {n for n, _ in t.named_parameters()}
    assert "lower_spline.unnormalized_widths" in names
    assert t.nn.param_dims == [16, 16, 14, 16]
    assert t.upper_spline.input_dim == 2


def test_affine_coupling_over_channels():
    # event shape (C, H, W) = (4, 2, 3), split along the channels
    t = T.affine_coupling((4, 2, 3), dim=-3).double()
    assert t.event_dim == 3
    x = x_of(2, 4, 2, 3)
    y = check_flow(t, x, event_dim=3)
    assert torch.equal(y[:, :2], x[:, :2])
    with pytest.raises(ValueError, match="dimensions"):
        T.affine_coupling((4, 2), dim=-3)


def test_affine_coupling_clamps_log_scale_but_not_gradients():
    t = T.affine_coupling(2, log_scale_max_clip=0.1).double()
    with torch.no_grad():
        t.nn.layers[-1].bias.fill_(5.0)
        t.nn.layers[-1].weight.zero_()
    x = x_of(2)
    y = t(x)
    assert torch.allclose(t.log_abs_det_jacobian(x, y), torch.tensor(0.1, dtype=torch.float64))
    t.log_abs_det_jacobian(x, y).backward()
    assert t.nn.layers[-1].bias.grad.abs().sum() > 0


CONDITIONAL = {
    "spline": lambda: T.conditional_spline(D, CONTEXT, hidden_dims=[8]),
    "spline_quadratic": lambda: T.conditional_spline(D, CONTEXT, count_bins=3,
                                                     order="quadratic"),
    "spline_autoregressive": lambda: T.conditional_spline_autoregressive(D, CONTEXT),
    "affine_coupling": lambda: T.conditional_affine_coupling(D, CONTEXT),
    "affine_autoregressive": lambda: T.conditional_affine_autoregressive(D, CONTEXT),
}


@pytest.mark.parametrize("name", sorted(CONDITIONAL))
def test_conditional_flow(name):
    cond = CONDITIONAL[name]().double()
    assert isinstance(cond, dist.conditional.ConditionalTransformModule)
    context = x_of(CONTEXT)
    t = cond.condition(context)
    check_flow(t, x_of(5, D))
    contexts, x = x_of(5, CONTEXT), x_of(5, D)
    y = cond.condition(contexts)(x)
    for i in range(5):
        assert torch.allclose(y[i], cond.condition(contexts[i])(x[i]), atol=1e-10)
    # a different context gives a different transform
    assert not torch.allclose(cond.condition(context + 1)(x), cond.condition(context)(x))


def test_spline_autoregressive_is_autoregressive():
    t = T.spline_autoregressive(D).double()
    assert t.autoregressive
    x = x_of(D)
    jac = jacobian(t, x)
    perm = t.arn.get_permutation()
    ordered = jac[perm][:, perm]
    assert torch.equal(ordered.triu(1), torch.zeros_like(ordered))


def test_clear_cache_between_optimizer_steps():
    # Pyro's normalizing-flows tutorial: the same data tensor is scored at every step
    base = dist.Normal(torch.zeros(2), torch.ones(2))
    flow = T.Spline(2, count_bins=4)
    flow_dist = dist.TransformedDistribution(base, [flow])
    data = torch.randn(50, 2)
    optimizer = torch.optim.Adam(flow.parameters(), lr=1e-2)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = -flow_dist.log_prob(data).mean()
        loss.backward()
        optimizer.step()
        flow_dist.clear_cache()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    # without clearing, the inverse cached at the previous step (freed graph) is reused
    loss = -flow_dist.log_prob(data).mean()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        (-flow_dist.log_prob(data).mean()).backward()


def test_affine_autoregressive_clamps_log_scale_but_not_gradients():
    t = T.affine_autoregressive(2)
    with torch.no_grad():
        t.arn.layers[-1].bias.fill_(10.0)  # log scales far above the clip 3
    x = torch.randn(2)
    ladj = t.log_abs_det_jacobian(x, t(x))
    assert ladj.item() == pytest.approx(6.0)
    ladj.backward()
    assert t.arn.layers[-1].bias.grad.abs().sum() > 0


@pytest.mark.parametrize("order", ["linear", "quadratic"])
def test_spline_with_one_bin(order):
    t = T.Spline(2, count_bins=1, order=order).double()
    check_flow(t, x_of(4, 2))
