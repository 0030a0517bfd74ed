"""chain_method="vectorized": batched potentials and lockstep NUTS / HMC chains."""
import pytest
import torch

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
from pyro.infer.mcmc import HMC, MCMC, NUTS
from pyro.infer.mcmc.batched_potential import BatchedModelPotential, vectorize_potential
from pyro.infer.mcmc.potential import value_and_grad
from pyro.infer.mcmc.util import setup_potential
from pyro.ops.stats import effective_sample_size

torch.set_num_threads(1)

SIGMA = torch.tensor([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
Y = torch.tensor([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])


def eight_schools(sigma, y):
    mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(5.0))
    with pyro.plate("school", sigma.shape[0]):
        theta_tilde = pyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
        pyro.sample("obs", dist.Normal(mu + tau * theta_tilde, sigma), obs=y)


def event_model(data):
    loc = pyro.sample("loc", dist.Normal(torch.zeros(3), 10.0).to_event(1))
    scale = pyro.sample("scale", dist.HalfNormal(2.0))
    with pyro.plate("data", data.size(0)):
        pyro.sample("obs", dist.Normal(loc, scale).to_event(1), obs=data)


def branching(x):
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    if mu > 0:  # Python control flow on a latent value
        pyro.sample("obs", dist.Normal(mu, 1.0), obs=x)
    else:
        pyro.sample("obs", dist.Normal(-mu, 2.0), obs=x)


def _setup(model, *args):
    pyro.set_rng_seed(0)
    single, z0, _ = setup_potential(model, args, {})
    trace = poutine.trace(model).get_trace(*args)
    z = torch.stack([z0 + 0.5 * torch.randn_like(z0) for _ in range(4)])
    return single, trace, z


def test_batched_potential_matches_per_chain_evaluation():
    single, trace, z = _setup(eight_schools, SIGMA, Y)
    batched = vectorize_potential(single, trace, z)
    assert isinstance(batched, BatchedModelPotential)  # eight schools broadcasts over chains
    pe, grad = value_and_grad(batched, z)
    assert pe.shape == (4,) and grad.shape == z.shape
    for c in range(4):
        pe_c, grad_c = single(z[c])
        assert float(pe[c]) == pytest.approx(pe_c, rel=1e-5)
        torch.testing.assert_close(grad[c], grad_c, rtol=1e-4, atol=1e-4)


def test_event_shaped_latents_fall_back_to_vmap():
    data = torch.tensor([[0.0, 1.0, 2.0], [0.5, 1.5, 1.5]])
    single, trace, z = _setup(event_model, data)
    batched = vectorize_potential(single, trace, z)
    assert not isinstance(batched, BatchedModelPotential)  # torch.func.vmap
    pe, grad = value_and_grad(batched, z)
    for c in range(4):
        pe_c, grad_c = single(z[c])
        assert float(pe[c]) == pytest.approx(pe_c, rel=1e-5)
        torch.testing.assert_close(grad[c], grad_c, rtol=1e-4, atol=1e-4)


def test_control_flow_on_latents_is_rejected():
    pyro.set_rng_seed(1)
    mcmc = MCMC(NUTS(branching), num_samples=5, warmup_steps=5, num_chains=2,
                chain_method="vectorized", disable_progbar=True)
    with pytest.raises(ValueError, match="vectorized.*sequential"):
        mcmc.run(torch.tensor(0.3))


def test_potential_fn_kernels_run_vectorized():
    pyro.set_rng_seed(0)
    kernel = NUTS(potential_fn=lambda p: 0.5 * (p["x"] ** 2).sum())
    mcmc = MCMC(kernel, num_samples=200, warmup_steps=100, num_chains=2,
                chain_method="vectorized", initial_params={"x": torch.zeros(2, 1)},
                disable_progbar=True)
    mcmc.run()
    x = mcmc.get_samples(group_by_chain=True)["x"]
    assert x.shape == (2, 200, 1)
    assert abs(float(x.mean())) < 4.5 / 20  # sd 1, at least ~400 effective draws


DATA = torch.tensor([1.2, 0.4, 2.2, 1.9, 0.7, 1.4, 1.1, 2.5, 0.3, 1.6])


def normal_normal(data):
    mu = pyro.sample("mu", dist.Normal(0.0, 3.0))
    with pyro.plate("data", data.size(0)):
        pyro.sample("obs", dist.Normal(mu, 1.0), obs=data)


@pytest.mark.parametrize("make_kernel", [NUTS, lambda m: HMC(m, trajectory_length=1.0)],
                         ids=["nuts", "hmc"])
def test_vectorized_chains_recover_the_exact_posterior(make_kernel):
    pyro.set_rng_seed(2)
    mcmc = MCMC(make_kernel(normal_normal), num_samples=300, warmup_steps=200, num_chains=3,
                chain_method="vectorized", disable_progbar=True)
    mcmc.run(DATA)
    grouped = mcmc.get_samples(group_by_chain=True)["mu"]
    assert grouped.shape == (3, 300)
    assert not torch.equal(grouped[0], grouped[1])
    precision = 1 / 9 + DATA.numel()
    m, v = DATA.sum().item() / precision, 1 / precision
    # Monte Carlo error of the pooled mean: sd / sqrt(ESS) with the multi-chain ESS
    # (capped at the number of draws); 4.5 errors as in test_nuts.py
    for values, exact in ((grouped.double(), m), ((grouped.double() - m) ** 2, v)):
        ess = effective_sample_size(values).clamp(max=values.numel())
        err = values.std() / ess.sqrt()
        assert abs(values.mean().item() - exact) < 4.5 * err.item()
    diag = mcmc.diagnostics()
    assert set(diag["divergences"]) == {"chain 0", "chain 1", "chain 2"}
    assert diag["mu"]["r_hat"] < 1.05
    for rate in diag["acceptance rate"].values():
        assert 0.6 < rate <= 1.0


def test_vectorized_eight_schools_shapes_and_per_chain_adaptation():
    pyro.set_rng_seed(3)
    mcmc = MCMC(NUTS(eight_schools), num_samples=40, warmup_steps=40, num_chains=2,
                chain_method="vectorized", disable_progbar=True)
    mcmc.run(SIGMA, Y)
    s = mcmc.get_samples(group_by_chain=True)
    assert s["mu"].shape == (2, 40) and s["theta_tilde"].shape == (2, 40, 8)
    assert (s["tau"] > 0).all()
    diag = mcmc.diagnostics()
    assert diag["theta_tilde"]["n_eff"].shape == (8,)
    assert set(diag["mean tree depth"]) == {"chain 0", "chain 1"}
