"""The cheap argument check (pyro.distributions.fast_validation): it accepts exactly what
torch's check accepts, raises torch's very error otherwise, and leaves the same state."""
import math

import pytest
import torch
import torch.distributions as td

import pyro.distributions as dist
from pyro.distributions.fast_validation import host_reads_allowed, params_valid

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
