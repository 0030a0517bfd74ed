"""ArviZ reads this project's MCMC as it reads pyro-ppl's (an optional test dependency)."""
import warnings

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.mcmc import MCMC, NUTS

SIGMA = torch.tensor([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
Y = torch.tensor([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])


def eight_schools(sigma, y):
    mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(5.0))
    with pyro.plate("school", sigma.shape[0]):
        theta_tilde = pyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
        pyro.sample("obs", dist.Normal(mu + tau * theta_tilde, sigma), obs=y)


def test_arviz_from_pyro_gives_every_group():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        az = pytest.importorskip("arviz", reason="arviz (optional) is not installed")
    pyro.set_rng_seed(0)
    mcmc = MCMC(NUTS(eight_schools), num_samples=30, warmup_steps=30, num_chains=2,
                disable_progbar=True)
    mcmc.run(SIGMA, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = az.from_pyro(mcmc)
    assert {"posterior", "log_likelihood", "sample_stats", "observed_data"} <= set(
        data.groups())
    post = data.posterior
    assert post["mu"].shape == (2, 30) and post["theta_tilde"].shape == (2, 30, 8)
    samples = mcmc.get_samples(group_by_chain=True)
    torch.testing.assert_close(torch.as_tensor(post["tau"].values), samples["tau"])
    # the pointwise log likelihood is log N(y | mu + tau * theta_tilde, sigma) per draw
    loc = samples["mu"].unsqueeze(-1) + samples["tau"].unsqueeze(-1) * samples["theta_tilde"]
    expected = dist.Normal(loc, SIGMA).log_prob(Y)
    torch.testing.assert_close(torch.as_tensor(data.log_likelihood["obs"].values), expected,
                               rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.as_tensor(data.observed_data["obs"].values), Y)
    assert data.sample_stats["diverging"].shape == (2, 30)
