"""Constraints, their biject_to / transform_to registrations, and transforms (Jacobians
checked against autograd)."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import pyro.distributions as dist
from pyro.distributions import constraints, transforms

SETTINGS = settings(max_examples=5, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

PYRO_CONSTRAINTS = {
    "ordered_vector": (constraints.ordered_vector, (4,)),
    "positive_ordered_vector": (constraints.positive_ordered_vector, (4,)),
    "softplus_positive": (constraints.softplus_positive, ()),
    "softplus_lower_cholesky": (constraints.softplus_lower_cholesky, (3, 3)),
    "unit_lower_cholesky": (constraints.unit_lower_cholesky, (3, 3)),
    "corr_matrix": (constraints.corr_matrix, (3, 3)),
}


def test_torch_constraints_are_reexported():
    for name in torch.distributions.constraints.__all__:
        assert getattr(constraints, name) is getattr(torch.distributions.constraints, name)
    assert constraints.corr_cholesky_constraint is constraints.corr_cholesky


@pytest.mark.parametrize("name", sorted(PYRO_CONSTRAINTS))
@SETTINGS
@given(seed=hs.integers(0, 2**31 - 1), batch=hs.sampled_from([(), (2,)]))
def test_biject_to_round_trip(name, seed, batch):
    constraint, event_shape = PYRO_CONSTRAINTS[name]
    # core's ParamStore calls torch.distributions.transform_to: the registrations must be
    # in torch's own registries
    for registry in (torch.distributions.biject_to, torch.distributions.transform_to):
        t = registry(constraint)
        g = torch.Generator().manual_seed(seed)
        shape = t.inverse_shape(batch + event_shape)
        u = torch.randn(shape, generator=g, dtype=torch.float64)
        x = t(u)
        assert x.shape == batch + event_shape
        assert constraint.check(x).all(), x
        assert torch.allclose(t(t.inv(x)), x, atol=1e-10)


def test_sphere_transform_to_normalizes():
    t = torch.distributions.transform_to(constraints.sphere)
    x = t(torch.tensor([[3.0, 4.0], [0.0, -2.0]]))
    assert torch.allclose(x, torch.tensor([[0.6, 0.8], [0.0, -1.0]]))
    assert constraints.sphere.check(x).all()
    with pytest.raises(NotImplementedError):
        torch.distributions.biject_to(constraints.sphere)  # no bijection onto a sphere


def test_constraint_checks_reject():
    assert not constraints.ordered_vector.check(torch.tensor([1.0, 1.0]))
    assert not constraints.positive_ordered_vector.check(torch.tensor([-1.0, 1.0]))
    assert not constraints.corr_matrix.check(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))
    assert not constraints.corr_matrix.check(torch.tensor([[1.0, 0.1], [0.2, 1.0]]))
    assert not constraints.unit_lower_cholesky.check(torch.tensor([[1.0, 0.5], [0.0, 1.0]]))
    assert not constraints.sphere.check(torch.tensor([1.0, 1.0]))
    assert constraints.integer.check(torch.tensor([-2.0, 3.0])).all()
    assert not constraints.integer.check(torch.tensor(0.5))


def _jacobian_logdet(t, x):
    """log |det dy/dx| by autograd for a vector->vector transform (x: 1-D)."""
    jac = torch.autograd.functional.jacobian(lambda v: t(v), x)
    return torch.linalg.slogdet(jac)[1]


@pytest.mark.parametrize("make", [
    lambda: transforms.OrderedTransform(),
    lambda: transforms.LowerCholeskyAffine(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64),
                                           torch.tensor([[2.0, 0, 0], [0.3, 0.5, 0],
                                                         [-1.0, 0.2, 1.5]],
                                                        dtype=torch.float64)),
    lambda: transforms.Permute(torch.tensor([2, 0, 1])),
    lambda: transforms.ComposeTransform([transforms.OrderedTransform(),
                                         transforms.ExpTransform()]),
], ids=["ordered", "lower_cholesky_affine", "permute", "positive_ordered"])
def test_log_abs_det_jacobian_matches_autograd(make):
    t = make()
    x = torch.tensor([0.3, -0.4, 0.8], dtype=torch.float64)
    y = t(x)
    assert torch.allclose(t.inv(y), x)
    assert torch.allclose(t.log_abs_det_jacobian(x, y).sum(), _jacobian_logdet(t, x))


def test_softplus_lower_cholesky_jacobian_on_the_diagonal():
    # only the diagonal is transformed (softplus): log det = sum log sigmoid(diag)
    t = transforms.SoftplusLowerCholeskyTransform()
    x = torch.tensor([[0.3, 9.0], [-0.4, -1.2]], dtype=torch.float64)
    y = t(x)
    assert torch.equal(y[0, 1], torch.tensor(0.0, dtype=torch.float64))
    diag = torch.tensor([0.3, -1.2], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(
        lambda d: t(torch.diag_embed(d) + x.tril(-1)).diagonal(), diag)
    assert torch.allclose(t.log_abs_det_jacobian(x, y), torch.linalg.slogdet(jac)[1])
    assert torch.allclose(t.inv(y), x.tril())


def test_corr_matrix_cholesky_jacobian_in_free_coordinates():
    # the map C -> L between the strictly-lower entries of a 3x3 correlation matrix and
    # those of its Cholesky factor: compare the closed form with autograd.
    t = transforms.CorrMatrixCholeskyTransform()
    c0 = torch.tensor([[1.0, 0.3, -0.2], [0.3, 1.0, 0.4], [-0.2, 0.4, 1.0]],
                      dtype=torch.float64)
    idx = torch.tril_indices(3, 3, -1)

    def free_map(v):
        c = torch.eye(3, dtype=v.dtype).index_put((idx[0], idx[1]), v)
        c = c + c.tril(-1).mT
        return t(c)[idx[0], idx[1]]

    v = c0[idx[0], idx[1]]
    jac = torch.autograd.functional.jacobian(free_map, v)
    assert torch.allclose(t.log_abs_det_jacobian(c0, t(c0)), torch.linalg.slogdet(jac)[1])


def test_normalize_and_permute_details():
    t = transforms.Normalize(p=1)
    assert torch.allclose(t(torch.tensor([1.0, -3.0])), torch.tensor([0.25, -0.75]))
    with pytest.raises(ValueError, match="permutation"):
        transforms.Permute(torch.tensor([0, 0, 1]))
    p = transforms.permute(5)
    x = torch.randn(2, 5)
    assert torch.equal(p.inv(p(x)), x)


class _TinyMADE(torch.nn.Module):
    """A 1-hidden-layer autoregressive network (masks make output i see inputs < i)."""

    def __init__(self, n, hidden=8):
        super().__init__()
        self.l1 = torch.nn.Linear(n, hidden)
        self.l2 = torch.nn.Linear(hidden, 2 * n)
        deg_in = torch.arange(n)
        deg_h = torch.arange(hidden) % max(n - 1, 1)
        self.register_buffer("m1", (deg_h[:, None] >= deg_in[None, :]).double())
        deg_out = torch.arange(n).repeat(2)
        self.register_buffer("m2", (deg_out[:, None] > deg_h[None, :]).double())
        self.double()

    def forward(self, x):
        h = torch.relu(torch.nn.functional.linear(x, self.l1.weight * self.m1, self.l1.bias))
        out = torch.nn.functional.linear(h, self.l2.weight * self.m2, self.l2.bias)
        return out.chunk(2, -1)


@pytest.mark.parametrize("stable", [False, True])
def test_affine_autoregressive_inverse_and_jacobian(stable):
    torch.manual_seed(0)
    t = transforms.AffineAutoregressive(_TinyMADE(3), stable=stable)
    assert isinstance(t, torch.nn.Module) and len(list(t.parameters())) == 4
    x = torch.randn(3, dtype=torch.float64)
    y = t(x)
    t._last_pass.clear()
    assert torch.allclose(t.inv(y), x, atol=1e-10)  # recomputed, not taken from the cache
    jac = torch.autograd.functional.jacobian(t, x)
    assert torch.allclose(jac.triu(1), torch.zeros(3, 3, dtype=torch.float64))  # triangular
    assert torch.allclose(t.log_abs_det_jacobian(x, y), torch.linalg.slogdet(jac)[1])


def test_transformed_distribution_with_a_flow_scores_its_samples():
    torch.manual_seed(0)
    flow = transforms.AffineAutoregressive(_TinyMADE(2))
    base = dist.Normal(torch.zeros(2, dtype=torch.float64), 1.0).to_event(1)
    d = dist.TransformedDistribution(base, [flow])
    y = d.rsample((4,))
    lp = d.log_prob(y)
    assert lp.shape == (4,)
    # independent computation: base density of the inverse minus log|det J|
    x = flow.inv(y.detach().clone())
    jac = torch.stack([torch.autograd.functional.jacobian(flow, xi) for xi in x])
    expected = base.log_prob(x) - torch.linalg.slogdet(jac)[1]
    assert torch.allclose(lp, expected, atol=1e-8)
    loss = -lp.sum()
    loss.backward()
    assert all(p.grad is not None for p in flow.parameters())


def test_transform_modules_compose_and_iterate():
    flows = transforms.iterated(2, lambda: transforms.AffineAutoregressive(_TinyMADE(2)))
    assert isinstance(flows, transforms.ComposeTransformModule)
    assert len(list(flows.parameters())) == 8
    x = torch.randn(5, 2, dtype=torch.float64)
    assert torch.allclose(flows.inv(flows(x)), x, atol=1e-8)
    assert hash(flows) != hash(transforms.iterated(1, transforms.OrderedTransform))
    with pytest.raises(ValueError):
        transforms.iterated(0, transforms.OrderedTransform)


def test_conditional_transformed_distribution():
    class Shift(dist.ConditionalTransformModule):
        def condition(self, context):
            return transforms.AffineTransform(context, 1.0)

    d = dist.ConditionalTransformedDistribution(dist.Normal(0.0, 1.0), [Shift()])
    c = d.condition(torch.tensor(3.0))
    assert isinstance(c, dist.TransformedDistribution)
    assert torch.allclose(c.log_prob(torch.tensor(3.0)), dist.Normal(0.0, 1.0).log_prob(
        torch.tensor(0.0)))


def test_param_store_uses_pyro_constraints():
    import pyro

    pyro.clear_param_store()
    try:
        init = torch.tensor([0.5, 1.0, 4.0])
        x = pyro.param("ordered_scales", init, constraint=constraints.positive_ordered_vector)
        assert torch.allclose(x, init)
        unconstrained = pyro.get_param_store().named_parameters()
        (name, u), = list(unconstrained)
        assert name == "ordered_scales"
        # stored unconstrained: init = exp(ordered(u)), u_0 = log 0.5,
        # u_i = log(log init_i - log init_{i-1})
        z = init.log()
        expected = torch.stack([z[0], (z[1] - z[0]).log(), (z[2] - z[1]).log()])
        assert torch.allclose(u, expected, atol=1e-6)
    finally:
        pyro.clear_param_store()


def test_positive_maps_through_exp_alone_with_torchs_values():
    from torch.distributions import AffineTransform, ComposeTransform, ExpTransform
    from torch.distributions import constraints as tc

    for registry in (dist.transform_to, dist.biject_to):
        assert type(registry(tc.positive)) is ExpTransform
        shifted = registry(tc.greater_than(2.0))
        x = torch.linspace(-5, 5, 101)
        torch_way = ComposeTransform([ExpTransform(), AffineTransform(2.0, 1)])
        assert torch.equal(shifted(x), torch_way(x))
    x = torch.linspace(-30, 30, 1001)
    # the composition torch registers: exp(x) * 1 + 0, exactly exp(x)
    assert torch.equal(dist.transform_to(tc.positive)(x),
                       ComposeTransform([ExpTransform(), AffineTransform(0.0, 1)])(x))
