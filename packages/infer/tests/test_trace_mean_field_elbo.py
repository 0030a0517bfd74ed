"""TraceMeanField_ELBO: analytic KL terms where torch has them, Monte Carlo otherwise."""
import math

import pytest
import torch
from scipy import stats

import pyro
import pyro.distributions as dist
from pyro.infer import TraceMeanField_ELBO


def test_loss_uses_the_analytic_kl():
    x = torch.tensor(0.7)

    def model():
        z = pyro.sample("z", dist.Normal(0.0, 1.0))
        pyro.sample("x", dist.Normal(z, 1.0), obs=x)

    def guide():
        pyro.sample("z", dist.Normal(0.4, 0.5))

    pyro.set_rng_seed(2)
    z = pyro.poutine.trace(guide).get_trace().nodes["z"]["value"].item()
    pyro.set_rng_seed(2)
    loss = TraceMeanField_ELBO().loss(model, guide)
    # KL(N(0.4, 0.5) || N(0, 1)) = log(1/0.5) + (0.25 + 0.16)/2 - 1/2
    kl = math.log(2.0) + (0.25 + 0.16) / 2 - 0.5
    assert loss == pytest.approx(kl - stats.norm(z, 1).logpdf(0.7), abs=1e-4)


def test_kl_of_plated_sites_is_summed_and_scaled():
    def model():
        with pyro.plate("p", 3):
            pyro.sample("z", dist.Normal(0.0, 1.0))

    def guide():
        with pyro.plate("p", 3):
            pyro.sample("z", dist.Normal(torch.tensor([0.0, 1.0, -1.0]), 1.0))

    loss = TraceMeanField_ELBO().loss(pyro.poutine.scale(model, 2.0),
                                      pyro.poutine.scale(guide, 2.0))
    # KL(N(m, 1) || N(0, 1)) = m^2 / 2, times the scale 2
    assert loss == pytest.approx(2.0 * (0.0 + 0.5 + 0.5), abs=1e-5)


def test_falls_back_to_monte_carlo_without_a_kl_rule():
    def model():
        pyro.sample("z", dist.Normal(0.0, 1.0))

    def guide():
        pyro.sample("z", dist.Delta(torch.tensor(0.3)))

    # no KL(Delta || Normal): the estimate is log q - log p = 0 - log N(0.3; 0, 1)
    assert TraceMeanField_ELBO().loss(model, guide) == pytest.approx(
        -stats.norm(0, 1).logpdf(0.3), abs=1e-5)


def test_non_reparameterized_guide_is_rejected():
    def model():
        pyro.sample("z", dist.Bernoulli(0.5))

    def guide():
        pyro.sample("z", dist.Bernoulli(0.3))

    with pytest.raises(ValueError, match="'z'"):
        TraceMeanField_ELBO().loss(model, guide)
