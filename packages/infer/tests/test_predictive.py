"""Predictive: shapes, conditioning on posterior samples, guide draws, parallel runs."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import Predictive


def model(x, y=None):
    w = pyro.sample("w", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.Normal(0.0, 1.0))
    with pyro.plate("data", len(x)):
        return pyro.sample("y", dist.Normal(w * x + b, 0.1), obs=y)


X = torch.tensor([0.0, 1.0, 2.0])


@pytest.mark.parametrize("parallel", [False, True])
def test_posterior_samples_condition_the_model(parallel):
    samples = {"w": torch.tensor([1.0, 2.0, -1.0, 0.5]), "b": torch.zeros(4)}
    out = Predictive(model, posterior_samples=samples, parallel=parallel)(X)
    # only the sites not given are returned; global sites are padded to the plate dims
    assert set(out) == {"y"}
    assert out["y"].shape == (4, 3)
    # y ~ N(w x + b, 0.1): each draw follows its own w within 5 sd
    expected = samples["w"][:, None] * X
    assert torch.all((out["y"] - expected).abs() < 0.5)


@pytest.mark.parametrize("parallel", [False, True])
def test_guide_draws_and_return_sites(parallel):
    def guide(x, y=None):
        pyro.sample("w", dist.Normal(3.0, 0.01))
        pyro.sample("b", dist.Normal(-1.0, 0.01))

    pred = Predictive(model, guide=guide, num_samples=6, return_sites=["w", "y", "_RETURN"],
                      parallel=parallel)
    out = pred(X)
    assert out["w"].shape == (6, 1) and out["y"].shape == (6, 3)
    assert torch.allclose(out["w"], torch.full((6, 1), 3.0), atol=0.1)
    assert torch.allclose(out["y"], 3.0 * X - 1.0, atol=0.6)
    assert out["_RETURN"].shape == (6, 3)
    assert set(pred.get_samples(X)) == {"w", "y", "_RETURN"}


def test_prior_predictive_and_observed_sites_keep_their_data():
    y = torch.tensor([0.1, 0.2, 0.3])
    out = Predictive(model, num_samples=5, return_sites=("w", "y"))(X, y)
    assert out["w"].shape == (5, 1)
    assert torch.equal(out["y"], y.expand(5, 3))


def test_vectorized_trace_and_errors():
    samples = {"w": torch.randn(7), "b": torch.randn(7)}
    tr = Predictive(model, posterior_samples=samples).get_vectorized_trace(X)
    assert tr.nodes["y"]["value"].shape == (7, 3)
    with pytest.raises(ValueError, match="num_samples"):
        Predictive(model)
    with pytest.raises(ValueError, match="not both"):
        Predictive(model, posterior_samples=samples, guide=model)
    with pytest.raises(ValueError, match="nope"):
        Predictive(model, posterior_samples=samples, return_sites=["nope"])(X)
    with pytest.warns(UserWarning, match="7 draws"):
        Predictive(model, posterior_samples=samples, num_samples=3)
