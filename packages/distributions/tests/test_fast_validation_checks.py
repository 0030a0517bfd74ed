"""The cheap argument check (pyro.distributions.fast_validation): it accepts exactly what
torch's check accepts, raises torch's very error otherwise, and leaves the same state."""
import math

import pytest
import torch
import torch.distributions as td

import pyro.distributions as dist
from pyro.distributions.fast_validation import host_reads_allowed, params_valid, value_valid

NAN = float("nan")

# (family, torch family, arguments): one bad parameter each, as 0-dim CPU tensors (the
# host-read path), as vectors (the tensor path) and with a NaN
BAD = [
    ("Beta", (torch.tensor(-1.0), torch.tensor(2.0)), "concentration1"),
    ("Beta", (torch.tensor(2.0), torch.tensor(0.0)), "concentration0"),
    ("Beta", (torch.tensor([1.0, -1.0]), torch.tensor([2.0, 2.0])), "concentration1"),
    ("Beta", (torch.tensor(NAN), torch.tensor(2.0)), "concentration1"),
    ("Bernoulli", (torch.tensor(1.5),), "probs"),
    ("Bernoulli", (torch.tensor(-0.0001),), "probs"),
    ("Bernoulli", (torch.tensor([0.2, 1.01]),), "probs"),
    ("Bernoulli", (torch.tensor(NAN),), "probs"),
    ("Gamma", (torch.tensor(1.0), torch.tensor(-3.0)), "rate"),
    ("Exponential", (torch.tensor(0.0),), "rate"),
    ("Cauchy", (torch.tensor(NAN), torch.tensor(1.0)), "loc"),
    ("Uniform", (torch.tensor(0.0), torch.tensor(-1.0)), None),  # a dependent constraint
]


def _torch_error(name, args):
    with pytest.raises(ValueError) as info:
        getattr(td, name)(*args, validate_args=True)
    return str(info.value)


@pytest.mark.parametrize("name,args,param", BAD)
def test_invalid_parameters_raise_torchs_error(name, args, param):
    with pytest.raises(ValueError) as info:
        getattr(dist, name)(*args, validate_args=True)
    message = str(info.value)
    if param is not None:
        assert f"Expected parameter {param} " in message
    # torch's words, with the Pyro wrapper's name (torch's Beta reports its Dirichlet)
    if name not in ("Beta",):
        assert message == _torch_error(name, args)


@pytest.mark.parametrize("value", [0.0, 1.0, 0.5, 1e-45, 1 - 2 ** -24])
def test_unit_interval_bounds_are_accepted_like_torch(value):
    probs = torch.tensor(value)
    td.Bernoulli(probs, validate_args=True)  # torch accepts: so must we
    assert dist.Bernoulli(probs, validate_args=True).probs is probs


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_every_floating_dtype_judged_as_torch(dtype):
    for value in (-1.0, -2 ** -20, 0.0, 2 ** -20, 3.0, math.inf, NAN):
        x = torch.tensor(value, dtype=dtype)
        torch_ok = bool((td.constraints.positive.check(x)).all())
        pyro_ok = True
        try:
            dist.Exponential(x, validate_args=True)
        except ValueError:
            pyro_ok = False
        assert pyro_ok == torch_ok, (dtype, value)


def test_validation_off_checks_nothing():
    d = dist.Beta(torch.tensor(-1.0), torch.tensor(2.0), validate_args=False)
    assert d._validate_args is False


def test_default_validation_follows_the_global_switch():
    # validate_args=None leaves no instance attribute, as torch's Distribution.__init__
    d = dist.Beta(torch.tensor(2.0), torch.tensor(3.0))
    assert "_validate_args" not in vars(d)
    d = dist.Bernoulli(torch.tensor(0.3))
    assert "_validate_args" not in vars(d)
    d = dist.Bernoulli(torch.tensor(0.3), validate_args=True)
    assert d._validate_args is True


def test_lazy_parameter_is_not_computed_for_the_check():
    d = dist.Bernoulli(logits=torch.tensor(0.3), validate_args=True)
    assert "probs" not in vars(d)
    assert torch.allclose(d.probs, torch.sigmoid(torch.tensor(0.3)))


def test_shape_dependent_constraints_still_checked():
    # Wishart's parameters are read through properties that need the shapes
    scale = torch.eye(2)
    dist.Wishart(torch.tensor(3.0), scale_tril=scale, validate_args=True)
    with pytest.raises(ValueError, match="df"):
        dist.Wishart(torch.tensor(0.5), scale_tril=scale, validate_args=True)


def test_params_valid_says_false_not_raises():
    d = dist.Beta(torch.tensor(2.0), torch.tensor(3.0), validate_args=False)
    assert params_valid(d)
    d.concentration1 = torch.tensor(-2.0)
    assert not params_valid(d)
    d.concentration1 = torch.tensor([[1.0, -1.0]])  # the tensor path
    assert not params_valid(d)


def test_no_host_read_while_tracing():
    seen = []

    def build(x):
        seen.append(host_reads_allowed())
        return dist.Exponential(x, validate_args=True).rate * 2

    assert host_reads_allowed()
    torch.jit.trace(build, (torch.tensor(1.5),), check_trace=False)
    assert seen == [False]


# values to score: the reduction checks (real: no NaN; boolean: 0/1 only) decide as torch
BOOLEAN_VALUES = [
    torch.bernoulli(torch.full((64, 32), 0.5)),
    torch.tensor([0.0, 1.0, -0.0]),
    torch.tensor([0.0, 1.0, 0.5]),
    torch.tensor([0.0, 1.0, 1.0 + 2 ** -23]),
    torch.tensor([0.0, 1.0, 2 ** -149]),  # the smallest subnormal
    torch.tensor([0.0, 1.0, -1.0]),
    torch.tensor([0.0, 1.0, float("inf")]),
    torch.tensor([0.0, 1.0, float("-inf")]),
    torch.tensor([0.0, 1.0, NAN]),
    torch.tensor([0.0, 2.0, 1e30]),
    torch.tensor([0.0, 1.0, 300.0], dtype=torch.float16),
    torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64),
]


@pytest.mark.parametrize("value", BOOLEAN_VALUES)
def test_boolean_values_judged_as_torch(value):
    probs = torch.full(value.shape, 0.3, dtype=value.dtype)
    torch_ok = bool(torch.distributions.constraints.boolean.check(value).all())
    d = dist.Bernoulli(probs, validate_args=True)
    assert value_valid(d, value) == torch_ok
    if torch_ok:
        assert torch.allclose(d.log_prob(value), td.Bernoulli(probs).log_prob(value))
    else:
        with pytest.raises(ValueError, match="Expected value argument"):
            d.log_prob(value)


@pytest.mark.parametrize("logits", [
    torch.randn(50, 20),
    torch.tensor([0.0, float("inf"), -3.0]),
    torch.tensor([float("inf"), float("-inf")]),  # sum is NaN: torch decides (valid)
    torch.tensor([0.0, NAN]),
])
def test_real_parameters_judged_as_torch(logits):
    torch_ok = bool((logits == logits).all())
    if torch_ok:
        d = dist.Bernoulli(logits=logits, validate_args=True)
        assert torch.equal(d.logits, logits)
    else:
        with pytest.raises(ValueError, match="Expected parameter logits"):
            dist.Bernoulli(logits=logits, validate_args=True)


def test_value_shapes_follow_torchs_rules():
    d = dist.Bernoulli(torch.full((3, 4), 0.5), validate_args=True)
    assert value_valid(d, torch.ones(3, 4)) and value_valid(d, torch.ones(2, 1, 4))
    assert not value_valid(d, torch.ones(3, 5))
    with pytest.raises(ValueError, match="broadcastable"):
        d.log_prob(torch.ones(3, 5))
    with pytest.raises(ValueError, match="must be a Tensor"):
        d.log_prob(1.0)
    e = dist.OneHotCategorical(torch.full((2, 3), 1 / 3), validate_args=True)
    assert value_valid(e, torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    assert not value_valid(e, torch.ones(2, 4))
    with pytest.raises(ValueError, match="event_shape"):
        e.log_prob(torch.ones(2, 4))


def test_a_value_with_gradient_is_not_modified():
    value = torch.tensor([0.0, 1.0, 1.0], requires_grad=True)
    d = dist.Bernoulli(torch.full((3,), 0.2), validate_args=True)
    assert value_valid(d, value)
    assert torch.equal(value.detach(), torch.tensor([0.0, 1.0, 1.0])) and value.grad is None


def test_under_vmap_torchs_check_runs():
    def log_density(rate):
        assert not host_reads_allowed()
        return dist.Exponential(rate, validate_args=True).log_prob(torch.tensor(0.5))

    rates = torch.tensor([0.5, 1.0, 2.0])
    assert torch.allclose(torch.func.vmap(log_density)(rates),
                          td.Exponential(rates).log_prob(torch.tensor(0.5)))
    beta = torch.func.vmap(
        lambda a: dist.Beta(a, torch.tensor(2.0)).log_prob(torch.tensor(0.25)))
    assert torch.allclose(beta(rates), td.Beta(rates, torch.tensor(2.0)).log_prob(
        torch.tensor(0.25)))


@pytest.mark.parametrize("constraint", [
    td.constraints.positive, td.constraints.nonnegative, td.constraints.unit_interval,
    td.constraints.half_open_interval(0.0, 1.0), td.constraints.less_than(2.0),
    td.constraints.greater_than(-3.0)])
@pytest.mark.parametrize("values", [
    [0.5, 0.25, 0.75], [0.0, 1.0, 0.5], [1e-45, 0.9999999], [-1e-45, 0.5], [2.0, 0.5],
    [0.5, NAN], [float("inf"), 0.5], [-2.5, -3.0, -3.0 + 1e-6], [float("-inf")], [],
])
def test_bounded_vectors_judged_as_torch(constraint, values):
    value = torch.tensor(values).reshape(-1)
    torch_ok = bool(constraint.check(value).all())
    from pyro.distributions.fast_validation import _reduced_check

    judged = _reduced_check(constraint, value)
    if judged is not None:
        assert judged == torch_ok, (constraint, values)
    else:
        assert value.numel() == 0
