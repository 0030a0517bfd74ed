"""NUTS against exact posteriors: conjugate Normal-Normal, a correlated 2-d Gaussian,
constrained sites (Gamma precision, Beta probability), plus the tree's mechanics."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.mcmc import MCMC, NUTS

torch.set_num_threads(1)


def assert_moments(assert_expectation, draws, mean, cov, what=""):
    """Mean and covariance of vector draws (N, D), each covariance entry checked as the
    expectation of (x_i - m_i)(x_j - m_j)."""
    x = draws.double()
    mean = torch.as_tensor(mean, dtype=torch.float64)
    assert_expectation(x, mean, what + " mean")
    c = x - mean
    prods = (c.unsqueeze(-1) * c.unsqueeze(-2)).reshape(x.size(0), -1)
    assert_expectation(prods, torch.as_tensor(cov, dtype=torch.float64).reshape(-1),
                       what + " covariance")


# ------------------------------------------------------------------ conjugate models

DATA = torch.tensor([1.2, 0.4, 2.2, 1.9, 0.7, 1.4, 1.1, 2.5, 0.3, 1.6])
PRIOR_SD = 3.0


def normal_normal(data):
    mu = pyro.sample("mu", dist.Normal(0.0, PRIOR_SD))
    with pyro.plate("data", data.size(0)):
        pyro.sample("obs", dist.Normal(mu, 1.0), obs=data)


def normal_normal_posterior(data):
    precision = 1 / PRIOR_SD**2 + data.numel()
    return data.sum().item() / precision, 1 / precision  # mean, variance


def test_nuts_normal_normal(assert_expectation):
    pyro.set_rng_seed(0)
    mcmc = MCMC(NUTS(normal_normal), num_samples=1000, warmup_steps=300, disable_progbar=True)
    mcmc.run(DATA)
    mu = mcmc.get_samples()["mu"]
    assert mu.shape == (1000,)
    m, v = normal_normal_posterior(DATA)
    assert_expectation(mu, m, "mu mean")
    assert_expectation((mu.double() - m) ** 2, v, "mu variance")


COV = torch.tensor([[1.0, 0.8], [0.8, 2.0]])
LOC = torch.tensor([1.0, -2.0])


def correlated_gaussian():
    pyro.sample("x", dist.MultivariateNormal(LOC, COV))


@pytest.mark.parametrize("full_mass", [False, True])
def test_nuts_correlated_gaussian(full_mass, assert_expectation):
    pyro.set_rng_seed(1)
    kernel = NUTS(correlated_gaussian, full_mass=full_mass)
    mcmc = MCMC(kernel, num_samples=800, warmup_steps=300, disable_progbar=True)
    mcmc.run()
    x = mcmc.get_samples()["x"]
    assert x.shape == (800, 2)
    assert_moments(assert_expectation, x, LOC, COV, f"full_mass={full_mass}")
    if full_mass:
        # the dense metric is the covariance estimate of the last slow window (100 draws,
        # ~30 effective: relative sd sqrt(2/30) ~ 0.26 of the variance 2, i.e. ~0.5)
        assert kernel.inverse_mass_matrix.shape == (2, 2)
        torch.testing.assert_close(kernel.inverse_mass_matrix, COV, rtol=0, atol=1.1)


def gamma_precision(data):
    lam = pyro.sample("lam", dist.Gamma(2.0, 1.0))
    with pyro.plate("data", data.size(0)):
        pyro.sample("obs", dist.Normal(0.0, lam.rsqrt()), obs=data)


def test_nuts_positive_site_needs_the_jacobian(assert_expectation):
    # Gamma(a, b) prior on a precision, Normal(0, 1/sqrt(lam)) data: the posterior is
    # Gamma(a + n/2, b + sum x^2 / 2). Sampling log(lam) without the log-Jacobian would
    # target Gamma(a - 1 + n/2, ...) instead, whose mean is off by 1/(b + sum x^2 / 2) =
    # 0.3 (checked: that estimate misses by ~10 Monte Carlo errors).
    data = torch.tensor([0.5, -1.2, 0.3, 0.9, -0.4, 1.5, -0.8, 0.1])
    pyro.set_rng_seed(2)
    mcmc = MCMC(NUTS(gamma_precision), num_samples=1000, warmup_steps=300, disable_progbar=True)
    mcmc.run(data)
    lam = mcmc.get_samples()["lam"].double()
    assert (lam > 0).all()
    shape, rate = 2.0 + data.numel() / 2, 1.0 + (data**2).sum().item() / 2
    assert_expectation(lam, shape / rate, "lam mean")
    assert_expectation((lam - shape / rate) ** 2, shape / rate**2, "lam variance")


def beta_bernoulli(flips):
    p = pyro.sample("p", dist.Beta(2.0, 3.0))
    with pyro.plate("flips", flips.size(0)):
        pyro.sample("obs", dist.Bernoulli(p), obs=flips)


def test_nuts_interval_site_beta_bernoulli(assert_expectation):
    flips = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    pyro.set_rng_seed(3)
    mcmc = MCMC(NUTS(beta_bernoulli), num_samples=1000, warmup_steps=300, disable_progbar=True)
    mcmc.run(flips)
    p = mcmc.get_samples()["p"].double()
    assert ((p > 0) & (p < 1)).all()
    a, b = 2.0 + flips.sum().item(), 3.0 + (1 - flips).sum().item()
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    assert_expectation(p, mean, "p mean")
    assert_expectation((p - mean) ** 2, var, "p variance")


def test_nuts_slice_sampling_variant(assert_expectation):
    pyro.set_rng_seed(4)
    mcmc = MCMC(NUTS(normal_normal, use_multinomial_sampling=False), num_samples=600,
                warmup_steps=200, disable_progbar=True)
    mcmc.run(DATA)
    mu = mcmc.get_samples()["mu"]
    m, v = normal_normal_posterior(DATA)
    assert_expectation(mu, m, "mu mean")
    assert_expectation((mu.double() - m) ** 2, v, "mu variance")


# --------------------------------------------------------------------------- mechanics


def test_max_tree_depth_bounds_the_trajectory():
    # With a tiny fixed step, a U-turn is never reached within 2**3 - 1 = 7 steps.
    pyro.set_rng_seed(5)
    kernel = NUTS(normal_normal, step_size=1e-3, adapt_step_size=False, max_tree_depth=3)
    mcmc = MCMC(kernel, num_samples=20, warmup_steps=0, disable_progbar=True)
    mcmc.run(DATA)
    diag = mcmc.diagnostics()
    assert diag["mean tree depth"]["chain 0"] == 3
    assert diag["mean num steps"]["chain 0"] == 7


def test_divergences_are_reported():
    # A huge fixed step on a narrow funnel-like target makes the energy blow up.
    def narrow():
        pyro.sample("x", dist.Normal(0.0, 1e-3))

    pyro.set_rng_seed(6)
    kernel = NUTS(narrow, step_size=10.0, adapt_step_size=False)
    mcmc = MCMC(kernel, num_samples=10, warmup_steps=0, disable_progbar=True)
    mcmc.run()
    divergences = mcmc.diagnostics()["divergences"]["chain 0"]
    assert divergences == list(range(10))


def test_nuts_requires_one_of_model_and_potential_fn():
    with pytest.raises(ValueError, match="exactly one"):
        NUTS()
    with pytest.raises(ValueError, match="max_tree_depth"):
        NUTS(normal_normal, max_tree_depth=0)


def test_nuts_step_size_adapts_to_the_scale():
    # The adapted step size scales with the posterior sd (the metric does too): a 100x
    # wider target keeps the step size in units of the adapted metric around 1.
    def wide():
        pyro.sample("x", dist.Normal(0.0, 100.0))

    pyro.set_rng_seed(7)
    kernel = NUTS(wide)
    MCMC(kernel, num_samples=10, warmup_steps=200, disable_progbar=True).run()
    scale = math.sqrt(kernel.inverse_mass_matrix.item())
    assert 20.0 < scale < 500.0
    assert 0.2 < kernel.step_size < 3.0
