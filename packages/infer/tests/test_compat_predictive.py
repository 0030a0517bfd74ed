"""Predictive returns the model's deterministic sites (issue 8): a program reads
``predictive(...)["rate"]`` as with Pyro 1.9 (shapes as pyro-ppl 1.9.2 gives them)."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import Predictive


def model(y=None):
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    rate = pyro.deterministic("rate", a.exp())
    with pyro.plate("data", 3):
        return pyro.sample("y", dist.Poisson(rate), obs=y)


@pytest.mark.parametrize("parallel", [False, True])
def test_predictive_returns_deterministic_sites(parallel):
    samples = {"a": torch.randn(5)}
    out = Predictive(model, samples, parallel=parallel)(None)
    assert set(out) == {"rate", "y"}  # not "data", the plate's site
    assert out["rate"].shape == (5, 1) and out["y"].shape == (5, 3)
    assert torch.allclose(out["rate"].reshape(-1), samples["a"].exp())


def test_predictive_deterministic_sites_with_data_and_return_sites():
    samples = {"a": torch.randn(4)}
    out = Predictive(model, samples)(torch.ones(3))
    assert torch.allclose(out["rate"].reshape(-1), samples["a"].exp())
    out = Predictive(model, samples, return_sites=["rate"])(None)
    assert list(out) == ["rate"]
    # a site given in the samples is not returned (Pyro's default return_sites)
    out = Predictive(model, {"a": samples["a"], "rate": torch.ones(4)})(None)
    assert set(out) == {"y"}
