"""Validation: bad parameters and out-of-support values raise errors naming the
distribution, the parameter and the constraint; nothing silently turns into NaN."""
import pytest
import torch

import pyro
import pyro.distributions as dist
import pyro.distributions.util as dist_util
import pyro.util

BAD_PARAMETERS = [
    ("Normal", lambda: dist.Normal(0.0, torch.tensor(-1.0)), "scale", "GreaterThan"),
    ("Beta", lambda: dist.Beta(torch.tensor(-1.0), 1.0), "concentration1", "GreaterThan"),
    ("BetaBinomial", lambda: dist.BetaBinomial(torch.tensor(-1.0), 1.0, 3), "concentration1",
     "GreaterThan"),
    ("BetaBinomial", lambda: dist.BetaBinomial(1.0, 1.0, torch.tensor(2.5)), "total_count",
     "IntegerGreaterThan"),
    ("GammaPoisson", lambda: dist.GammaPoisson(1.0, torch.tensor(-2.0)), "rate", "GreaterThan"),
    ("DirichletMultinomial", lambda: dist.DirichletMultinomial(torch.tensor([1.0, -1.0]), 3),
     "concentration", "GreaterThan"),
    ("AsymmetricLaplace", lambda: dist.AsymmetricLaplace(0.0, 1.0, torch.tensor(-1.0)),
     "asymmetry", "GreaterThan"),
    ("SoftLaplace", lambda: dist.SoftLaplace(0.0, torch.tensor(0.0)), "scale", "GreaterThan"),
    ("Logistic", lambda: dist.Logistic(torch.tensor(float("nan")), 1.0), "loc", "Real"),
    ("ZeroInflatedPoisson", lambda: dist.ZeroInflatedPoisson(1.0, gate=torch.tensor(1.5)),
     "gate", "Interval"),
    ("ZeroInflatedPoisson", lambda: dist.ZeroInflatedPoisson(torch.tensor(-1.0),
                                                             gate=torch.tensor(0.5)),
     "rate", "GreaterThan"),
    ("ZeroInflatedNegativeBinomial",
     lambda: dist.ZeroInflatedNegativeBinomial(torch.tensor(-2.0), probs=torch.tensor(0.5),
                                               gate=torch.tensor(0.5)),
     "total_count", "GreaterThanEq"),
    ("OrderedLogistic", lambda: dist.OrderedLogistic(0.0, torch.tensor([1.0, 0.0])),
     "cutpoints", "OrderedVector"),
    ("LKJ", lambda: dist.LKJ(3, torch.tensor(-1.0)), "concentration", "GreaterThan"),
]


@pytest.mark.parametrize("name,make,param,constraint", BAD_PARAMETERS,
                         ids=[f"{b[0]}-{b[2]}" for b in BAD_PARAMETERS])
def test_bad_parameters_name_distribution_parameter_and_constraint(name, make, param,
                                                                   constraint):
    with pytest.raises(ValueError) as err:
        make()
    message = str(err.value)
    assert f"distribution {name}" in message or message.startswith(name), message
    assert param in message and constraint in message, message


OUT_OF_SUPPORT = [
    (lambda: dist.Poisson(1.0), -1.0),
    (lambda: dist.BetaBinomial(1.0, 1.0, 3), 4.0),
    (lambda: dist.GammaPoisson(1.0, 1.0), 0.5),
    (lambda: dist.ZeroInflatedPoisson(1.0, gate=torch.tensor(0.2)), -1.0),
    (lambda: dist.FoldedDistribution(dist.Normal(0.0, 1.0)), -0.5),
    (lambda: dist.Beta(1.0, 1.0), 1.5),
    (lambda: dist.ImproperUniform(dist.constraints.positive, (), ()), -1.0),
]


@pytest.mark.parametrize("make,value", OUT_OF_SUPPORT)
def test_out_of_support_values_raise(make, value):
    d = make()
    with pytest.raises(ValueError, match="support") as err:
        d.log_prob(torch.tensor(value))
    assert type(d).__name__ in str(err.value)


def test_dirichlet_multinomial_checks_the_total():
    d = dist.DirichletMultinomial(torch.ones(3), 4)
    with pytest.raises(ValueError, match="total_count|support"):
        d.log_prob(torch.tensor([1.0, 1.0, 1.0]))


def test_validation_can_be_turned_off():
    with dist.validation_enabled(False):
        assert not dist.is_validation_enabled()
        d = dist.Normal(0.0, torch.tensor(-1.0))
        d.log_prob(torch.tensor(0.0))  # no error: the user asked for no checks
        dist.BetaBinomial(torch.tensor(-1.0), 1.0, 3)
    assert dist.is_validation_enabled()


def test_one_validation_switch_for_pyro_and_torch():
    # pyro.distributions re-exports core's switch: no second flag that can disagree
    for name in ("enable_validation", "is_validation_enabled", "validation_enabled"):
        assert getattr(dist, name) is getattr(pyro.util, name)
        assert getattr(dist_util, name) is getattr(pyro.util, name)
    with dist.validation_enabled(False):
        assert not pyro.is_validation_enabled()
        assert not torch.distributions.Distribution._validate_args
        pyro.enable_validation(True)
        assert dist.is_validation_enabled() and torch.distributions.Distribution._validate_args
        dist.enable_validation(False)
        assert not pyro.util.is_validation_enabled()
    assert pyro.util.is_validation_enabled() and torch.distributions.Distribution._validate_args
