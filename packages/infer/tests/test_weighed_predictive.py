"""WeighedPredictive's log weights against hand-computed densities, self-normalized
estimates of a conjugate posterior predictive, and MHResampler turning the weighted
draws into equally weighted posterior draws."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.predictive import (
    MHResampler,
    Predictive,
    WeighedPredictive,
    WeighedPredictiveResults,
)

X_OBS = torch.tensor(1.0)
POST_LOC, POST_VAR = 0.5, 0.5  # z ~ N(0, 1), x ~ N(z, 1), x = 1
N_SD = 4.5


def model(x=None):
    z = pyro.sample("z", dist.Normal(0.0, 1.0))
    return pyro.sample("x", dist.Normal(z, 1.0), obs=x)


def conditioned_model(x=None):
    return model(X_OBS)


def guide(x=None):
    pyro.sample("z", dist.Normal(0.2, 1.0))


def test_log_weights_and_weighted_moments():
    pyro.set_rng_seed(0)
    n = 1500
    predictive = WeighedPredictive(model, guide=guide, num_samples=n, return_sites=["z", "x"])
    out = predictive(model_guide=conditioned_model)
    assert isinstance(out, WeighedPredictiveResults)
    z, x = out.samples["z"].reshape(-1), out.samples["x"].reshape(-1)
    assert z.shape == (n,) and x.shape == (n,)
    expected_guide = dist.Normal(0.2, 1.0).log_prob(z)
    expected_model = dist.Normal(0.0, 1.0).log_prob(z) + dist.Normal(z, 1.0).log_prob(X_OBS)
    assert torch.allclose(out.guide_log_prob, expected_guide, atol=1e-5)
    assert torch.allclose(out.model_log_prob, expected_model, atol=1e-5)
    assert torch.allclose(out.log_weights, expected_model - expected_guide, atol=1e-5)
    w = torch.softmax(out.log_weights, 0)
    ess = 1.0 / (w**2).sum().item()
    assert (w * z).sum().item() == pytest.approx(POST_LOC, abs=N_SD * math.sqrt(POST_VAR / ess))
    # posterior predictive of a new x: N(0.5, 1.5)
    assert (w * x).sum().item() == pytest.approx(POST_LOC, abs=N_SD * math.sqrt(1.5 / ess))
    with pytest.raises(ValueError, match="guide"):
        WeighedPredictive(model, num_samples=3)()


def test_mh_resampler_gives_posterior_draws():
    pyro.set_rng_seed(1)
    n = 400
    sampler = WeighedPredictive(model, guide=guide, num_samples=n, return_sites=["z"])
    resampler = MHResampler(sampler, stored_samples_slice=slice(0, 10))
    for _ in range(12):
        out = resampler(model_guide=conditioned_model)
    z = out.samples["z"].reshape(-1)
    assert z.mean().item() == pytest.approx(POST_LOC, abs=N_SD * math.sqrt(POST_VAR / n))
    assert z.var().item() == pytest.approx(POST_VAR, abs=N_SD * POST_VAR * math.sqrt(2 / n))
    assert resampler.get_total_transition_count() > n
    assert resampler.get_min_sample_transition_count() >= 0
    stored = resampler.get_stored_samples()
    assert stored.samples["z"].shape[0] == 12 * 10
    assert resampler.get_source_samples().log_weights.numel() == 0


def test_predictive_call_alias():
    samples = Predictive(model, guide=guide, num_samples=5).call()
    assert samples["x"].shape[0] == 5
