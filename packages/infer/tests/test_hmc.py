"""HMC against exact posteriors (conjugate Normal-Normal, correlated 2-d Gaussian,
HalfNormal scale) and its trajectory-length / step-size bookkeeping."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.mcmc import HMC, MCMC

torch.set_num_threads(1)

DATA = torch.tensor([1.2, 0.4, 2.2, 1.9, 0.7, 1.4, 1.1, 2.5, 0.3, 1.6])


def normal_normal(data):
    mu = pyro.sample("mu", dist.Normal(0.0, 3.0))
    with pyro.plate("data", data.size(0)):
        pyro.sample("obs", dist.Normal(mu, 1.0), obs=data)


def test_hmc_normal_normal(assert_expectation):
    pyro.set_rng_seed(0)
    kernel = HMC(normal_normal, trajectory_length=1.0)
    mcmc = MCMC(kernel, num_samples=1000, warmup_steps=300, disable_progbar=True)
    mcmc.run(DATA)
    mu = mcmc.get_samples()["mu"].double()
    precision = 1 / 9 + DATA.numel()
    m, v = DATA.sum().item() / precision, 1 / precision
    assert_expectation(mu, m, "mu mean")
    assert_expectation((mu - m) ** 2, v, "mu variance")


COV = torch.tensor([[1.0, 0.8], [0.8, 2.0]], dtype=torch.float64)
PREC = torch.linalg.inv(COV)


def test_hmc_correlated_gaussian_from_potential_fn(assert_expectation):
    pyro.set_rng_seed(1)

    def potential(params):
        x = params["x"]
        return 0.5 * x @ PREC @ x

    kernel = HMC(potential_fn=potential, trajectory_length=2.0, full_mass=True)
    mcmc = MCMC(kernel, num_samples=800, warmup_steps=300, disable_progbar=True,
                initial_params={"x": torch.zeros(2, dtype=torch.float64)})
    mcmc.run()
    x = mcmc.get_samples()["x"]
    assert x.shape == (800, 2) and x.dtype == torch.float64
    assert_expectation(x, torch.zeros(2), "mean")
    prods = (x.unsqueeze(-1) * x.unsqueeze(-2)).reshape(800, 4)
    assert_expectation(prods, COV.reshape(-1), "covariance")


def half_normal_prior():
    pyro.sample("s", dist.HalfNormal(2.0))


def test_hmc_half_normal_scale_jacobian(assert_expectation):
    # prior only: E s = 2 sqrt(2/pi), E s^2 = 4. Without the log-Jacobian of exp, HMC would
    # sample exp(u) with u ~ density HalfNormal(exp(u)) -- a different law.
    pyro.set_rng_seed(2)
    kernel = HMC(half_normal_prior, trajectory_length=1.5)
    mcmc = MCMC(kernel, num_samples=1000, warmup_steps=300, disable_progbar=True)
    mcmc.run()
    s = mcmc.get_samples()["s"].double()
    assert (s > 0).all()
    assert_expectation(s, 2 * math.sqrt(2 / math.pi), "E s")
    assert_expectation(s**2, 4.0, "E s^2")


def test_hmc_trajectory_length_and_num_steps():
    k = HMC(normal_normal, step_size=0.1, num_steps=7, adapt_step_size=False)
    assert k.trajectory_length == pytest.approx(0.7)
    assert k.num_steps == 7
    k.step_size = 0.05
    assert k.num_steps == 14
    k2 = HMC(normal_normal, step_size=0.5)
    assert k2.trajectory_length == pytest.approx(2 * math.pi)
    assert k2.num_steps == int(2 * math.pi / 0.5)
    with pytest.raises(ValueError, match="step_size"):
        HMC(normal_normal, step_size=0.0)
    with pytest.raises(ValueError, match="full_mass"):
        HMC(normal_normal, full_mass="dense")
    with pytest.raises(ValueError, match="two groups"):
        HMC(normal_normal, full_mass=[("mu",), ("mu",)])


def test_hmc_without_adaptation_keeps_the_step_size():
    pyro.set_rng_seed(3)
    kernel = HMC(normal_normal, step_size=0.05, num_steps=4, adapt_step_size=False,
                 adapt_mass_matrix=False)
    mcmc = MCMC(kernel, num_samples=20, warmup_steps=20, disable_progbar=True)
    mcmc.run(DATA)
    assert kernel.step_size == 0.05
    torch.testing.assert_close(kernel.inverse_mass_matrix, torch.ones(1))
    # tiny steps: every proposal is accepted with probability ~1
    assert mcmc.diagnostics()["acceptance rate"]["chain 0"] > 0.95
