"""Initialization strategies (pyro.infer.initialization, shared by MCMC and the autoguides):
values in the support, with the site's shape; InitMessenger."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.initialization import (
    InitMessenger,
    init_to_feasible,
    init_to_generated,
    init_to_mean,
    init_to_median,
    init_to_sample,
    init_to_uniform,
    init_to_value,
)


def site(fn, name="x"):
    return {"name": name, "fn": fn, "value": None, "is_observed": False, "infer": {}}


@pytest.mark.parametrize("fn", [
    dist.Normal(torch.zeros(3), 1.0),
    dist.Gamma(torch.ones(2), 1.0),
    dist.Beta(2.0, 3.0),
    dist.Dirichlet(torch.ones(4)),
])
@pytest.mark.parametrize("strategy", [init_to_feasible, init_to_sample, init_to_median,
                                      init_to_mean, init_to_uniform])
def test_values_are_feasible_with_the_right_shape(fn, strategy):
    value = strategy(site(fn))
    assert value.shape == fn.batch_shape + fn.event_shape
    assert bool(fn.support.check(value).all())


@pytest.mark.parametrize("strategy", [init_to_uniform, init_to_uniform(radius=0.5),
                                      init_to_feasible, init_to_sample, init_to_median,
                                      init_to_mean, init_to_value(values={"p": 0.25})])
def test_init_strategies_land_in_the_support(strategy):
    fns = {"p": dist.Beta(2.0, 2.0), "s": dist.HalfCauchy(1.0),
           "w": dist.Dirichlet(torch.ones(4)), "x": dist.Normal(torch.zeros(2), 1.0)}
    for name, fn in fns.items():
        value = strategy({"name": name, "fn": fn, "value": None, "is_observed": False,
                          "infer": {}})
        assert value.shape == fn.batch_shape + fn.event_shape
        assert fn.support.check(value).all(), (name, value)
    assert init_to_value(values={"p": 0.25})({"name": "p", "fn": fns["p"]}).item() == 0.25
    assert init_to_feasible({"name": "s", "fn": fns["s"]}).item() == pytest.approx(1.0)
    radius = init_to_uniform(radius=0.5)({"name": "x", "fn": fns["x"]})
    assert (radius.abs() <= 0.5).all()


def test_specific_values():
    assert init_to_feasible(site(dist.Gamma(2.0, 1.0))).item() == pytest.approx(1.0)
    assert init_to_mean(site(dist.Gamma(2.0, 4.0))).item() == pytest.approx(0.5)
    torch.manual_seed(0)
    med = init_to_median(site(dist.Normal(3.0, 0.01)), num_samples=31)
    assert med.item() == pytest.approx(3.0, abs=0.01)
    u = init_to_uniform(site(dist.Normal(torch.zeros(1000), 1.0)), radius=0.5)
    assert u.abs().max() <= 0.5
    # the mean of a Bernoulli is not in its support: fall back to the median
    assert init_to_mean(site(dist.Bernoulli(0.9))).item() in (0.0, 1.0)


def test_init_to_value_and_partial_application():
    strategy = init_to_value(values={"a": 2.0}, fallback=None)
    assert strategy(site(dist.Normal(0.0, 1.0), "a")).item() == 2.0
    with pytest.raises(ValueError, match="'b'"):
        strategy(site(dist.Normal(0.0, 1.0), "b"))
    assert init_to_median(num_samples=5)(site(dist.Normal(0.0, 1.0))).shape == ()
    gen = init_to_generated(generate=lambda: init_to_value(values={"a": 5.0}))
    assert gen(site(dist.Normal(0.0, 1.0), "a")).item() == 5.0


def test_init_messenger_sets_latent_sites_only():
    def model():
        a = pyro.sample("a", dist.Normal(0.0, 1.0))
        pyro.sample("y", dist.Normal(a, 1.0), obs=torch.tensor(3.0))

    tr = poutine.trace(InitMessenger(init_to_value(values={"a": 1.5}))(model)).get_trace()
    assert tr.nodes["a"]["value"].item() == 1.5
    assert tr.nodes["y"]["value"].item() == 3.0


def test_init_messenger_checks_shapes():
    def model():
        pyro.sample("a", dist.Normal(torch.zeros(2), 1.0).to_event(1))

    bad = InitMessenger(init_to_value(values={"a": torch.zeros(3)}))(model)
    with pytest.raises(ValueError, match="'a'"):
        poutine.trace(bad).get_trace()
