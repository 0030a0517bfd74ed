"""Resampler: resampled guide draws follow the model (moments within tolerances from the
effective sample size), the simulator's sites travel with them, and stable resampling is
piecewise constant."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.resampler import Resampler

N_SD = 4.5


def guide():
    pyro.sample("z", dist.Normal(0.0, 3.0))


def simulator():
    z = pyro.sample("z", dist.Normal(0.0, 3.0))
    pyro.sample("x", dist.Normal(z, 0.01))


def make_model(loc, scale):
    def model():
        pyro.sample("z", dist.Normal(loc, scale))
    return model


def test_resampled_draws_follow_model():
    pyro.set_rng_seed(0)
    resampler = Resampler(guide, num_guide_samples=40000)
    samples = resampler.sample(make_model(1.0, 0.5), 4000, stable=False)
    z = samples["z"]
    assert z.shape == (4000,)
    # ESS of the importance weights bounds the precision
    lw = dist.Normal(1.0, 0.5).log_prob(resampler._guide_samples["z"]) - resampler._guide_log_prob
    w = torch.softmax(lw, 0)
    ess = min(1.0 / (w**2).sum().item(), 4000)
    assert z.mean().item() == pytest.approx(1.0, abs=N_SD * 0.5 / math.sqrt(ess))
    assert z.std().item() == pytest.approx(0.5, abs=N_SD * 0.5 / math.sqrt(2 * ess))


def test_simulator_sites_and_stability():
    pyro.set_rng_seed(1)
    resampler = Resampler(guide, simulator, num_guide_samples=5000, max_plate_nesting=0)
    a = resampler.sample(make_model(1.0, 0.5), 200)
    assert set(a) == {"z", "x"}
    assert (a["x"] - a["z"]).abs().max() < 0.1  # x travels with its z
    b = resampler.sample(make_model(1.0, 0.5), 200)
    assert torch.equal(a["z"], b["z"])  # same noise: same draws
    c = resampler.sample(make_model(1.001, 0.5), 200)
    assert (c["z"] != a["z"]).float().mean() < 0.2  # a small change moves few draws


def test_validation():
    with pytest.raises(ValueError, match="num_guide_samples"):
        Resampler(guide, num_guide_samples=0)
