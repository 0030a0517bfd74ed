"""config_enumerate marks discrete latent sites, and only those."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import config_enumerate


def model():
    pyro.sample("z", dist.Categorical(torch.ones(3) / 3))
    pyro.sample("b", dist.Bernoulli(0.5), infer={"enumerate": "sequential"})
    pyro.sample("x", dist.Normal(0.0, 1.0))
    pyro.sample("obs", dist.Bernoulli(0.5), obs=torch.tensor(1.0))


def test_marks_discrete_latent_sites_keeping_explicit_choices():
    tr = poutine.trace(config_enumerate(model)).get_trace()
    assert tr.nodes["z"]["infer"]["enumerate"] == "parallel"
    assert tr.nodes["b"]["infer"]["enumerate"] == "sequential"
    assert "enumerate" not in tr.nodes["x"]["infer"]
    assert "enumerate" not in tr.nodes["obs"]["infer"]


def test_decorator_with_arguments():
    tr = poutine.trace(config_enumerate(default="sequential", expand=True)(model)).get_trace()
    assert tr.nodes["z"]["infer"] == {"enumerate": "sequential", "expand": True}


def test_bad_default():
    with pytest.raises(ValueError, match="default"):
        config_enumerate(model, default="everything")
