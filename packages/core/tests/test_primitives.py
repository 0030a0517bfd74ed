"""The primitives: sample, param sites, module, random_module, factor, deterministic,
Pyro 0.1's aliases, RNG seeding and the validation switch."""
import math
import random
import warnings

import numpy as np
import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine
from pyro.primitive_distributions import Delta, Unit

LOG2PI = math.log(2 * math.pi)


def normal_lp(x, loc, scale):
    # log N(x; loc, scale) = -log(2 pi)/2 - log(scale) - (x - loc)^2 / (2 scale^2)
    return -0.5 * LOG2PI - math.log(scale) - (x - loc) ** 2 / (2 * scale**2)


# ---------------------------------------------------------------- sample


def test_sample_site_observed_and_latent():
    obs = torch.tensor(0.25)
    infer = {"enumerate": "parallel"}

    def m():
        z = pyro.sample("z", dist.Bernoulli(0.5), infer=infer)
        x = pyro.sample("x", dist.Normal(z, 2.0), obs=obs)
        return z, x

    tr = poutine.trace(m).get_trace()
    z, x = tr["z"], tr["x"]
    assert z["type"] == "sample" and not z["is_observed"] and z["value"].item() in (0.0, 1.0)
    assert x["is_observed"] and x["value"] is obs and tr["_RETURN"]["value"][1] is obs
    # the site gets its own copy of the infer dict
    assert z["infer"] == infer and z["infer"] is not infer
    infer["enumerate"] = "sequential"
    assert z["infer"]["enumerate"] == "parallel"
    # log Bernoulli(z; 1/2) + log N(0.25; z, 2)
    expected = math.log(0.5) + normal_lp(0.25, z["value"].item(), 2.0)
    assert abs(tr.log_prob_sum().item() - expected) < 1e-6


@pytest.mark.parametrize("bad", [3.0, "Normal", lambda: 0.0, None])
def test_sample_needs_a_distribution(bad):
    with pytest.raises(TypeError, match="pyro.sample\\('x', ...\\) expects a distribution"):
        pyro.sample("x", bad)  # outside any handler
    with pytest.raises(TypeError, match="pyro.sample\\('x', ...\\) expects a distribution"):
        poutine.trace(lambda: pyro.sample("x", bad)).get_trace()


def test_sample_with_a_distribution_class_instead_of_an_instance():
    with pytest.raises(TypeError, match="expects a distribution"):
        pyro.sample("x", dist.Normal)
    with pytest.raises(TypeError, match="expects a distribution"):
        poutine.trace(lambda: pyro.sample("x", dist.Normal)).get_trace()


def test_sample_name_must_be_a_string():
    with pytest.raises(TypeError, match="site name"):
        poutine.trace(lambda: pyro.sample(3, dist.Normal(0.0, 1.0))).get_trace()


def test_partially_observed_site_with_obs_mask():
    obs = torch.tensor([1.0, 0.0, 2.0])
    mask = torch.tensor([True, False, True])

    def m():
        with pyro.plate("d", 3):
            return pyro.sample("x", dist.Normal(0.0, 1.0), obs=obs, obs_mask=mask)

    tr = poutine.trace(m).get_trace()
    x = tr["_RETURN"]["value"]
    imputed = tr["x_unobserved"]["value"]
    assert torch.equal(x, torch.where(mask, obs, imputed)) and x[1] == imputed[1]
    assert tr["x_observed"]["is_observed"] and not tr["x_unobserved"]["is_observed"]
    assert tr["x"]["value"] is x and tr["x"]["is_observed"]  # a deterministic site
    # observed entries 0 and 2 are data; entry 1 is a latent N(0, 1) variable
    expected = normal_lp(1.0, 0, 1) + normal_lp(2.0, 0, 1) + normal_lp(imputed[1].item(), 0, 1)
    assert abs(tr.log_prob_sum().item() - expected) < 1e-5
    with pytest.raises(TypeError, match="obs_mask must be a bool tensor"):
        poutine.trace(lambda: pyro.sample("y", dist.Normal(0.0, 1.0), obs=obs,
                                          obs_mask=mask.long())).get_trace()


# ---------------------------------------------------------------- param


def test_param_site_message():
    init = torch.tensor([1.0, 2.0])
    tr = poutine.trace(lambda: pyro.param("w", init, event_dim=1)).get_trace()
    site = tr["w"]
    assert site["type"] == "param" and torch.equal(site["value"], init)
    assert site["args"] == ("w", init)
    assert site["kwargs"]["event_dim"] == 1
    assert site["value"] is tr["_RETURN"]["value"]
    # outside handlers: the same stored value
    assert pyro.param("w") is site["value"]


# ---------------------------------------------------------------- module / random_module


def test_module_update_module_params_uses_the_store_values():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    pyro.module("net", net)
    store = pyro.get_param_store()
    store["net$$$2.bias"] = torch.tensor([7.0])
    other = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    pyro.module("net", other, update_module_params=True)
    assert other[2].bias.tolist() == [7.0]
    assert torch.equal(other[0].weight, net[0].weight)


def test_random_module_draws_fresh_weights_from_the_prior():
    net = torch.nn.Linear(3, 1)
    original = net.weight.detach().clone()
    prior = {"weight": dist.Normal(torch.zeros(1, 3), 1.0),
             "bias": dist.Normal(torch.zeros(1), 1.0)}
    with pytest.warns(FutureWarning, match="PyroModule"):
        lifted = pyro.random_module("net", net, prior)
    tr = poutine.trace(lifted).get_trace()
    sampled = tr["_RETURN"]["value"]
    assert sampled is not net and torch.equal(net.weight, original)
    w = tr["net$$$weight"]
    assert w["type"] == "sample" and torch.equal(sampled.weight, w["value"])
    assert torch.equal(sampled.bias, tr["net$$$bias"]["value"])
    # log N(w; 0, 1) summed over the 3 weights + log N(b; 0, 1)
    values = torch.cat([w["value"].flatten(), tr["net$$$bias"]["value"]]).tolist()
    expected = sum(normal_lp(v, 0, 1) for v in values)
    assert abs(tr.log_prob_sum().item() - expected) < 1e-5
    assert not torch.equal(lifted().weight, lifted().weight)  # a fresh draw per call


def test_random_module_leaves_the_param_store_alone():
    net = torch.nn.Linear(3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        lifted = pyro.random_module("net", net, dist.Normal(0.0, 1.0))
    lifted()
    # the sampled weights are not parameters: nothing is written to the store
    assert list(pyro.get_param_store().keys()) == []


# ---------------------------------------------------------------- factor / deterministic


def test_factor_adds_its_log_factor():
    def m():
        pyro.factor("f", torch.tensor(-1.5))
        pyro.factor("g", 0.25)  # a Python number is accepted
        with pyro.plate("data", 8, subsample=torch.tensor([0, 5])):  # scale 8 / 2 = 4
            pyro.factor("h", torch.tensor([0.5, -2.0]))

    tr = poutine.trace(m).get_trace()
    f = tr["f"]
    assert isinstance(f["fn"], Unit) and f["is_observed"] and f["infer"]["is_auxiliary"]
    assert f["value"].shape == (0,) and tr["h"]["value"].shape == (2, 0)
    # -1.5 + 0.25 + 4 * (0.5 - 2.0)
    assert tr.log_prob_sum().item() == pytest.approx(-1.5 + 0.25 + 4 * (0.5 - 2.0))
    assert tr.stochastic_nodes == [] and not f["fn"].has_rsample
    tr = poutine.trace(lambda: pyro.factor("r", torch.tensor(1.0), has_rsample=True)).get_trace()
    assert tr["r"]["fn"].has_rsample


def test_deterministic_records_without_density():
    def m():
        z = pyro.sample("z", dist.Normal(0.0, 1.0))
        return pyro.deterministic("twice", 2 * z), pyro.deterministic("v", z.expand(3), 1)

    tr = poutine.trace(m).get_trace()
    twice, v = tr["_RETURN"]["value"]
    site = tr["twice"]
    assert isinstance(site["fn"], Delta) and site["is_observed"] and site["mask"] is False
    assert site["value"] is twice and twice.item() == 2 * tr["z"]["value"].item()
    assert tr["v"]["fn"].event_shape == (3,) and tr["v"]["infer"]["_deterministic"]
    # only the latent z counts: log N(z; 0, 1)
    assert abs(tr.log_prob_sum().item() - normal_lp(tr["z"]["value"].item(), 0, 1)) < 1e-6
    x = torch.tensor(5.0)
    assert pyro.deterministic("outside", x) is x


# ---------------------------------------------------------------- Pyro 0.1 aliases


def test_iarange_irange_observe_warn_and_still_work():
    with pytest.warns(FutureWarning, match="pyro.plate"):
        p = pyro.iarange("data", 10, subsample_size=2)
    with poutine.trace() as tr:
        with p as ind:
            pyro.sample("x", dist.Normal(0.0, 1.0))
    assert ind.shape == (2,) and tr.trace["x"]["scale"] == 5.0
    with pytest.warns(FutureWarning, match="pyro.plate"):
        assert list(pyro.irange("loop", 3)) == [0, 1, 2]
    with pytest.warns(FutureWarning, match="pyro.sample\\(name, fn, obs=obs\\)"):
        tr = poutine.trace(lambda: pyro.observe("o", dist.Normal(0.0, 1.0), torch.tensor(1.0))
                           ).get_trace()
    assert tr["o"]["is_observed"] and tr["o"]["value"].item() == 1.0
    with pytest.warns(FutureWarning, match="device="):
        pyro.plate("p", 2, use_cuda=False)


def test_top_level_handler_aliases():
    assert pyro.condition is poutine.condition and pyro.do is poutine.do
    assert pyro.markov is poutine.markov


# ---------------------------------------------------------------- seeding / validation


def test_set_rng_seed_seeds_torch_random_and_numpy():
    def draws():
        return torch.rand(2).tolist(), random.random(), np.random.rand(2).tolist()

    pyro.set_rng_seed(123)
    first = draws()
    pyro.set_rng_seed(123)
    assert draws() == first
    pyro.set_rng_seed(124)
    assert draws() != first


def test_enable_validation_switches_torch_argument_checks():
    pyro.enable_validation(True)
    assert pyro.util.is_validation_enabled() and pyro.is_validation_enabled()
    with pytest.raises(ValueError):
        dist.Normal(0.0, -1.0)
    pyro.enable_validation(False)
    assert not pyro.util.is_validation_enabled()
    dist.Normal(0.0, -1.0)  # unchecked
    with pyro.validation_enabled(True):
        assert pyro.util.is_validation_enabled()
        with pytest.raises(ValueError):
            dist.Normal(0.0, -1.0)
    assert not pyro.util.is_validation_enabled()
