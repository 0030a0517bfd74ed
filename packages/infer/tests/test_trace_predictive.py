"""The deprecated TracePredictive: posterior predictive traces from a TracePosterior."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import EmpiricalMarginal, Importance, TracePredictive


def model(data=None):
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.Normal(0.0, 1.0))
    return pyro.sample("y", dist.Normal(a + b, 0.1), obs=data)


def _posterior(n=30):
    return Importance(model, num_samples=n).run(torch.tensor(1.0))


def test_deprecated_with_future_warning():
    with pytest.warns(FutureWarning, match="Predictive"):
        TracePredictive(model, _posterior(), num_samples=2)


def test_latents_from_posterior_responses_drawn_anew():
    pyro.set_rng_seed(0)
    posterior = _posterior()
    with pytest.warns(FutureWarning):
        predictive = TracePredictive(model, posterior, num_samples=200).run()
    assert len(predictive.exec_traces) == 200
    assert all(float(w) == 0.0 for w in predictive.log_weights)
    pairs = {(float(t.nodes["a"]["value"]), float(t.nodes["b"]["value"]))
             for t in posterior.exec_traces}
    residuals = []
    for tr in predictive.exec_traces:
        a, b, y = (tr.nodes[n]["value"] for n in ("a", "b", "y"))
        assert (float(a), float(b)) in pairs
        assert not tr.nodes["y"]["is_observed"]
        assert torch.equal(tr.nodes["_RETURN"]["value"], y)
        residuals.append(float(y - a - b))
    # y - a - b ~ Normal(0, 0.1): its sample sd is within 5 standard errors of 0.1
    sd = torch.tensor(residuals).std().item()
    assert abs(sd - 0.1) < 5 * 0.1 / math.sqrt(2 * 200)


def test_keep_sites():
    pyro.set_rng_seed(1)
    posterior = _posterior()
    with pytest.warns(FutureWarning):
        predictive = TracePredictive(model, posterior, num_samples=20, keep_sites=["a"]).run()
    a_values = {float(t.nodes["a"]["value"]) for t in posterior.exec_traces}
    b_values = {float(t.nodes["b"]["value"]) for t in posterior.exec_traces}
    for tr in predictive.exec_traces:
        assert float(tr.nodes["a"]["value"]) in a_values
        assert float(tr.nodes["b"]["value"]) not in b_values


def test_runs_posterior_and_matches_predictive_mean():
    # a ~ N(0, 1), y ~ N(a, 1), y = 1 observed: the predictive of a new y is N(0.5, 1.5)
    def conjugate(data=None):
        a = pyro.sample("a", dist.Normal(0.0, 1.0))
        return pyro.sample("y", dist.Normal(a, 1.0), obs=data)

    pyro.set_rng_seed(2)
    posterior = Importance(conjugate, num_samples=3000)
    with pytest.warns(FutureWarning):
        predictive = TracePredictive(conjugate, posterior, num_samples=1500)
    predictive.run(torch.tensor(1.0))  # runs the posterior on the same arguments first
    assert len(posterior.exec_traces) == 3000
    assert predictive.exec_traces[0].nodes["y"]["is_observed"]  # data given: stays observed
    with pytest.warns(FutureWarning):
        fresh = TracePredictive(conjugate, posterior, num_samples=1500).run()
    mean = EmpiricalMarginal(fresh).mean
    ess = posterior.get_ESS()
    tol = 5 * math.sqrt(1.5 / 1500 + 0.5 / float(ess))
    assert abs(float(mean) - 0.5) < tol


def test_rejects_non_posterior():
    with pytest.raises(ValueError, match="TracePosterior"):
        TracePredictive(model, object(), num_samples=2)
