"""The second round of sample-site shortcuts in pyro.distributions: FastLogNormal (the
same densities, draws and errors as torch's LogNormal), the simplex check by reductions
(the same verdict as torch's check, at its tolerance), Independent.log_prob's single sum
(the same bits as torch's reshape-then-sum)."""
import pytest
import torch
import torch.distributions as td

import pyro
import pyro.distributions as dist
from pyro.distributions.fast_validation import _reduced_check, value_valid

NAN = float("nan")


# ----------------------------------------------------------------- FastLogNormal

@pytest.mark.parametrize("loc,scale", [
    (0.0, 1.0),
    (torch.tensor(0.3), torch.tensor(2.0)),
    (torch.randn(4, 1), torch.rand(3) + 0.1),
])
def test_log_normal_same_bits_as_torch(loc, scale):
    ours = dist.LogNormal(loc, scale)
    ref = td.LogNormal(loc, scale)
    assert ours.batch_shape == ref.batch_shape and ours.event_shape == ref.event_shape
    assert type(ours.base_dist) is td.Normal
    torch.manual_seed(7)
    x = ours.rsample((5,))
    torch.manual_seed(7)
    assert torch.equal(x, ref.rsample((5,)))
    assert torch.equal(ours.log_prob(x), ref.log_prob(x))


def test_log_normal_gradients_equal_torch():
    loc = torch.tensor([0.5, -1.0], requires_grad=True)
    scale = torch.tensor([1.5, 0.3], requires_grad=True)
    value = torch.tensor([2.0, 0.25], requires_grad=True)
    grads = []
    for family in (dist.LogNormal, td.LogNormal):
        lp = family(loc, scale).log_prob(value).sum()
        grads.append(torch.autograd.grad(lp, (loc, scale, value)))
    for g_ours, g_ref in zip(*grads):
        assert torch.equal(g_ours, g_ref)


@pytest.mark.parametrize("args", [(0.0, -1.0), (NAN, 1.0),
                                  (torch.zeros(2), torch.tensor([1.0, -1.0]))])
def test_log_normal_invalid_parameters_raise(args):
    with pytest.raises(ValueError, match="distribution LogNormal to satisfy the constraint"):
        dist.LogNormal(*args)
    dist.LogNormal(*args, validate_args=False)  # accepted unchecked, as torch does


def test_log_normal_validate_args_state():
    with pyro.validation_enabled(True):
        d = dist.LogNormal(0.0, 1.0)
        assert "_validate_args" not in d.__dict__ and "_validate_args" not in d.base_dist.__dict__
        d = dist.LogNormal(0.0, 1.0, validate_args=False)
        assert d._validate_args is False and d.base_dist._validate_args is False
        with pytest.raises(ValueError):
            dist.LogNormal(0.0, 1.0).log_prob(torch.tensor(-1.0))
        with pytest.raises(ValueError):
            dist.LogNormal(0.0, 1.0).log_prob(torch.tensor(NAN))
        # the base's own flag is back after a checked density
        d = dist.LogNormal(torch.zeros(3), torch.ones(3), validate_args=True)
        d.log_prob(torch.ones(3))
        assert d.base_dist._validate_args is True


def test_log_normal_expand_and_kl():
    d = dist.LogNormal(torch.tensor(0.2), torch.tensor(1.3)).expand([3])
    ref = td.LogNormal(torch.tensor(0.2), torch.tensor(1.3)).expand([3])
    x = torch.tensor([0.5, 1.0, 4.0])
    assert torch.equal(d.log_prob(x), ref.log_prob(x))
    kl = td.kl_divergence(dist.LogNormal(0.0, 1.0), dist.LogNormal(1.0, 2.0))
    assert torch.equal(kl, td.kl_divergence(td.LogNormal(0.0, 1.0), td.LogNormal(1.0, 2.0)))


# ------------------------------------------------------------------ simplex check

def _torch_simplex(value):
    return bool(td.constraints.simplex.check(value).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_simplex_reduced_agrees_with_torch_at_the_tolerance(dtype):
    tol = torch.tensor(1e-6, dtype=dtype)
    base = torch.tensor([0.25, 0.25, 0.5], dtype=dtype)
    cases = [base, base.expand(4, 3), torch.tensor([0.0, 0.0, 1.0], dtype=dtype),
             torch.tensor([-1e-30, 0.5, 0.5], dtype=dtype),
             torch.tensor([NAN, 0.5, 0.5], dtype=dtype),
             torch.tensor([float("inf"), 0.5, 0.5], dtype=dtype),
             torch.tensor([0.3, 0.3, 0.3], dtype=dtype)]
    # rows whose sum is 1 + d for d near the tolerance (either side, and at it)
    for d in (tol * 0.5, tol, torch.nextafter(tol, tol * 2), tol * 2):
        cases.append(torch.stack([torch.tensor([0.5, 0.5], dtype=dtype),
                                  torch.stack([0.5 + d, torch.tensor(0.5, dtype=dtype)])]))
    for value in cases:
        assert _reduced_check(td.constraints.simplex, value) == _torch_simplex(value), value


def test_simplex_parameters_and_values_checked():
    with pytest.raises(ValueError, match="Simplex"):
        dist.Categorical(torch.tensor([-0.5, 1.5]))
    with pytest.raises(ValueError):
        dist.Dirichlet(torch.ones(3)).log_prob(torch.tensor([0.2, 0.2, 0.2]))
    d = dist.Dirichlet(torch.ones(3))
    assert value_valid(d, torch.tensor([0.2, 0.3, 0.5]))
    assert not value_valid(d, torch.tensor([0.2, 0.3, NAN]))


# ------------------------------------------------------- Independent.log_prob

@pytest.mark.parametrize("batch", [(5,), (2, 5), (3, 1, 5)])
def test_independent_one_dim_sum_same_bits(batch):
    torch.manual_seed(0)
    loc = torch.randn(batch, requires_grad=True)
    d = dist.Normal(loc, torch.ones(batch)).to_event(1)
    x = torch.randn(batch)
    lp = d.log_prob(x)
    base_lp = dist.Normal(loc, torch.ones(batch)).log_prob(x)
    ref = base_lp.reshape(base_lp.shape[:-1] + (-1,)).sum(-1)
    assert torch.equal(lp, ref)
    g1, = torch.autograd.grad(lp.sum(), loc)
    g2, = torch.autograd.grad(ref.sum(), loc)
    assert torch.equal(g1, g2)


def test_independent_two_dims_as_torch():
    torch.manual_seed(1)
    d = dist.Normal(torch.randn(3, 4, 5), 1.0).to_event(2)
    x = torch.randn(3, 4, 5)
    assert torch.equal(d.log_prob(x), td.Independent(td.Normal(d.base_dist.loc, 1.0), 2)
                       .log_prob(x))


# ---------------------------------------------------- independent(...) constraints

@pytest.mark.parametrize("base,n,value", [
    (td.constraints.positive, 1, torch.tensor([1.0, 2.0])),
    (td.constraints.positive, 1, torch.tensor([1.0, 0.0])),
    (td.constraints.positive, 2, torch.tensor([[1.0, NAN]])),
    (td.constraints.real, 1, torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
    (td.constraints.real, 1, torch.tensor([float("inf"), NAN])),
    (td.constraints.simplex, 1, torch.tensor([[0.5, 0.5], [0.2, 0.8]])),
    (td.constraints.simplex, 1, torch.tensor([[0.5, 0.5], [0.2, 0.7]])),
    (td.constraints.unit_interval, 1, torch.tensor([0.0, 1.0, 0.5])),
])
def test_independent_reduced_agrees_with_torch(base, n, value):
    constraint = td.constraints.independent(base, n)
    assert _reduced_check(constraint, value) == bool(constraint.check(value).all())


def test_independent_reduced_leaves_too_few_dims_to_torch():
    constraint = td.constraints.independent(td.constraints.positive, 2)
    assert _reduced_check(constraint, torch.ones(3)) is None
    with pytest.raises(ValueError):
        dist.Dirichlet(torch.tensor(-1.0))  # torch's own error


def test_dirichlet_concentration_checked():
    with pytest.raises(ValueError, match="concentration"):
        dist.Dirichlet(torch.tensor([1.0, -2.0]))
    with pytest.raises(ValueError, match="concentration"):
        dist.Dirichlet(torch.tensor([1.0, NAN]))
    assert dist.Dirichlet(torch.full((3,), 2.0)).batch_shape == ()


# ------------------------------------------------------------------ boolean check

def _boolean_verdicts(x):
    # per entry: the reduced check's term is zero / torch's check holds
    ours = x.mul(x).sub_(x).abs_() == 0
    return ours, (x == 0) | (x == 1)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_boolean_term_zero_exactly_at_0_and_1_every_half_value(dtype):
    bits = torch.arange(-(2 ** 15), 2 ** 15, dtype=torch.int16)
    ours, ref = _boolean_verdicts(bits.view(dtype))
    assert torch.equal(ours, ref)


@pytest.mark.parametrize("dtype,int_dtype", [(torch.float32, torch.int32),
                                             (torch.float64, torch.int64)])
def test_boolean_term_zero_exactly_at_0_and_1(dtype, int_dtype):
    g = torch.Generator().manual_seed(0)
    info = torch.iinfo(int_dtype)
    random_bits = torch.randint(info.min, info.max, (1 << 20,), generator=g, dtype=int_dtype)
    one_bits = torch.tensor(1.0, dtype=dtype).view(int_dtype)
    near = torch.arange(-4096, 4097, dtype=int_dtype)
    x = torch.cat([random_bits.view(dtype), (one_bits + near).view(dtype), near.view(dtype),
                   torch.tensor([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, float("inf"), -float("inf"),
                                 NAN, torch.finfo(dtype).tiny, torch.finfo(dtype).max],
                                dtype=dtype)])
    ours, ref = _boolean_verdicts(x)
    assert torch.equal(ours, ref)


@pytest.mark.parametrize("values,expected", [
    ([0.0, 1.0, 1.0], True), ([0.0, -0.0, 1.0], True), ([0.0, 0.5], False),
    ([1.0, 2.0], False), ([0.0, -1.0], False), ([1.0, NAN], False),
    ([1.0, float("inf")], False),
])
def test_boolean_reduced_check(values, expected):
    x = torch.tensor(values)
    assert _reduced_check(td.constraints.boolean, x) is expected
    assert bool(td.constraints.boolean.check(x).all()) is expected
