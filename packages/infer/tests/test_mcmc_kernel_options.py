"""The one batched HMC/NUTS kernel under every mass-matrix option and chain method, checked
against exact posteriors; divergences, tree-depth saturation, the fast potential,
StreamingMCMC and RandomWalkKernel."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.mcmc import (
    HMC,
    MCMC,
    NUTS,
    ArrowheadMassMatrix,
    RandomWalkKernel,
    StreamingMCMC,
)
from pyro.infer.mcmc.fast_potential import PotentialEnergy
from pyro.infer.mcmc.potential import value_and_grad
from pyro.infer.mcmc.util import select_samples, setup_potential

# Conjugate model: x ~ N(0, I_3) prior, y_i ~ N(A x, I) for 4 observations of a fixed A.
A = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, -0.7], [0.3, 0.0, 1.2], [0.8, 0.8, 0.8]])
Y = torch.tensor([1.0, -0.5, 2.0, 0.7])
PRECISION = torch.eye(3) + A.T @ A
COV = torch.linalg.inv(PRECISION)
MEAN = COV @ A.T @ Y


def conjugate():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    bc = pyro.sample("bc", dist.Normal(torch.zeros(2), 1.0).to_event(1))
    x = torch.cat([a.unsqueeze(-1), bc], dim=-1)
    pyro.sample("y", dist.Normal((x.unsqueeze(-2) * A).sum(-1), 1.0).to_event(1), obs=Y)


def _check_posterior(mcmc, assert_expectation, what):
    s = mcmc.get_samples()
    x = torch.cat([s["a"].unsqueeze(-1), s["bc"]], dim=-1).double()
    assert torch.isfinite(x).all()
    assert_expectation(x, MEAN, f"{what} mean")
    # second moments E[(x_i - m_i)(x_j - m_j)] = COV_ij, each checked with its own ESS
    centered = x - MEAN.double()
    prods = (centered.unsqueeze(-1) * centered.unsqueeze(-2)).reshape(x.size(0), -1)
    assert_expectation(prods, COV.reshape(-1), f"{what} covariance")


CASES = [
    ("diag", "sequential", False),
    ("dense", "sequential", True),
    ("groups", "sequential", [("bc",)]),
    ("groups2", "sequential", [("a", "bc")]),
    ("arrowhead", "sequential", [("a",)]),
    ("diag", "vectorized", False),
    ("dense", "vectorized", True),
    ("arrowhead", "vectorized", [("a",)]),
]


@pytest.mark.parametrize("name,chain_method,full_mass", CASES,
                         ids=[f"{a}-{b}" for a, b, _ in CASES])
def test_nuts_exact_posterior_for_every_mass_matrix_and_chain_method(
        name, chain_method, full_mass, assert_expectation):
    pyro.set_rng_seed(0)
    kernel = NUTS(conjugate, full_mass=full_mass)
    if name == "arrowhead":
        kernel.mass_matrix_adapter = ArrowheadMassMatrix()
    num_chains = 2 if chain_method == "vectorized" else 1
    mcmc = MCMC(kernel, num_samples=300, warmup_steps=200, num_chains=num_chains,
                chain_method=chain_method, disable_progbar=True)
    mcmc.run()
    _check_posterior(mcmc, assert_expectation, f"{name}/{chain_method}")
    # the adapted inverse mass matrix has the structure asked for
    inv = kernel.mass_matrix_adapter.inverse_mass_matrix
    if name == "dense":
        (block,) = inv.values()
        assert block.shape == (num_chains, 3, 3)
        # it estimates the posterior covariance (last slow window: 50 draws, entries of
        # COV are <= 0.6: sd of an estimate ~ 0.6 * sqrt(2 / 30))
        torch.testing.assert_close(block.mean(0), COV, rtol=0, atol=0.35)
    elif name == "groups":
        assert inv[("bc",)].shape == (num_chains, 2, 2) and inv[("a",)].shape == (num_chains, 1)
    elif name == "arrowhead":
        (block,) = inv.values()
        assert block.top.shape == (num_chains, 1, 3)
        assert block.bottom_diag.shape == (num_chains, 2)


def test_hmc_parallel_chains_exact_posterior(assert_expectation):
    pyro.set_rng_seed(1)
    mcmc = MCMC(HMC(conjugate, trajectory_length=1.5), num_samples=300, warmup_steps=150,
                num_chains=2, mp_context="fork", disable_progbar=True)
    mcmc.run()
    _check_posterior(mcmc, assert_expectation, "hmc/parallel")


def test_full_mass_group_naming_an_unknown_site_is_an_error():
    mcmc = MCMC(NUTS(conjugate, full_mass=[("a", "nope")]), num_samples=5, warmup_steps=5,
                disable_progbar=True)
    with pytest.raises(ValueError, match="nope"):
        mcmc.run()


def nan_region(x0):
    x = pyro.sample("x", dist.Normal(0.0, 1.0))
    # the log density is NaN for x > 1: such points are outside the model's domain
    pyro.factor("f", torch.where(x > 1.0, torch.tensor(float("nan")), torch.tensor(0.0)))


def test_nan_log_density_counts_divergences_and_keeps_finite_draws():
    pyro.set_rng_seed(2)
    mcmc = MCMC(NUTS(nan_region), num_samples=400, warmup_steps=200, disable_progbar=True)
    mcmc.run(0.0)
    x = mcmc.get_samples()["x"]
    assert torch.isfinite(x).all()
    assert (x <= 1.0).all()  # no draw from the NaN region
    divergences = mcmc.diagnostics()["divergences"]["chain 0"]
    assert len(divergences) > 0
    # truncated normal on (-inf, 1]: mean -phi(1) / Phi(1)
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    big_phi = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    assert abs(float(x.mean()) + phi / big_phi) < 0.25


def long_ridge():
    pyro.sample("x", dist.Normal(torch.zeros(2), torch.tensor([100.0, 0.01])).to_event(1))


def test_tree_depth_saturation_is_counted_and_reported(capsys):
    pyro.set_rng_seed(3)
    kernel = NUTS(long_ridge, max_tree_depth=2, adapt_mass_matrix=False)
    mcmc = MCMC(kernel, num_samples=30, warmup_steps=30, disable_progbar=True)
    mcmc.run()
    saturated = mcmc.diagnostics()["tree depth saturation"]["chain 0"]
    # a 1e4 scale ratio needs far more than 3 leapfrog steps to turn around
    assert saturated >= 25
    mcmc.summary()
    assert "max_tree_depth" in capsys.readouterr().out


SIGMA = torch.tensor([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
YS = torch.tensor([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])


def eight_schools(sigma, y):
    mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(5.0))
    with pyro.plate("school", sigma.shape[0]):
        theta_tilde = pyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
        pyro.deterministic("theta", mu + tau * theta_tilde)
        pyro.sample("obs", dist.Normal(mu + tau * theta_tilde, sigma), obs=y)


def test_fast_potential_equals_the_traced_log_density_and_gradient():
    pyro.set_rng_seed(4)
    potential, z0, _ = setup_potential(eight_schools, (SIGMA, YS), {})
    energy = PotentialEnergy(lambda z: potential.potential(z.reshape(-1)).reshape(1))
    z = z0.unsqueeze(0)
    energy(z)
    assert energy.compiled, energy.reason
    for scale in (0.0, 0.5, 2.0):
        zz = z + scale * torch.randn_like(z)
        pe, grad = energy(zz)
        # the reference: the log density of a trace of the model at the same point
        values = potential.constrain(potential.unpack(zz[0].detach().requires_grad_()))
        zz_leaf = zz[0].detach().requires_grad_()
        values = potential.constrain(potential.unpack(zz_leaf))
        tr = pyro.poutine.trace(pyro.poutine.condition(eight_schools, values)).get_trace(
            SIGMA, YS)
        log_det = sum(s.transform.log_abs_det_jacobian(u, values[s.name]).sum()
                      for s, u in zip(potential.sites, potential.unpack(zz_leaf).values())
                      if s.transform is not None)
        ref = -(tr.log_prob_sum() + log_det)
        (ref_grad,) = torch.autograd.grad(ref, zz_leaf)
        assert pe.item() == pytest.approx(ref.item(), rel=1e-5)
        torch.testing.assert_close(grad[0], ref_grad, rtol=1e-4, atol=1e-5)


def branching(x):
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    if mu > 0:  # Python control flow on a latent value: a trace cannot represent it
        pyro.sample("obs", dist.Normal(mu, 1.0), obs=x)
    else:
        pyro.sample("obs", dist.Normal(-mu, 2.0), obs=x)


def test_fast_potential_falls_back_when_the_plan_differs():
    pyro.set_rng_seed(5)
    potential, z0, _ = setup_potential(branching, (torch.tensor(0.3),), {})
    energy = PotentialEnergy(lambda z: potential.potential(z.reshape(-1)).reshape(1))
    for point in (torch.tensor([[0.5]]), torch.tensor([[-0.5]])):
        pe, grad = energy(point)
        ref_pe, ref_grad = value_and_grad(lambda z: potential.potential(z.reshape(-1)), point)
        assert pe.item() == pytest.approx(ref_pe.item())
        torch.testing.assert_close(grad, ref_grad)
    assert not energy.compiled and "differs" in energy.reason


def test_eight_schools_matches_the_bench_reference(assert_expectation):
    # 2-D quadrature of the exact marginal posterior (bench/references.py)
    pyro.set_rng_seed(6)
    mcmc = MCMC(NUTS(eight_schools), num_samples=400, warmup_steps=200, disable_progbar=True)
    mcmc.run(SIGMA, YS)
    s = mcmc.get_samples()
    assert set(s) == {"mu", "tau", "theta_tilde"}  # latent sites only
    assert_expectation(s["mu"], 4.3968, "E mu")
    assert_expectation(s["tau"], 3.5979, "E tau")
    theta = mcmc.get_deterministic()["theta"]
    torch.testing.assert_close(theta, s["mu"].unsqueeze(-1) + s["tau"].unsqueeze(-1)
                               * s["theta_tilde"])


def normal_normal(data):
    mu = pyro.sample("mu", dist.Normal(0.0, 3.0))
    with pyro.plate("data", data.size(0)):
        pyro.sample("obs", dist.Normal(mu, 1.0), obs=data)


DATA = torch.tensor([1.2, 0.4, 2.2, 1.9, 0.7, 1.4, 1.1, 2.5, 0.3, 1.6])
POST_PREC = 1 / 9 + DATA.numel()
POST_MEAN, POST_VAR = DATA.sum().item() / POST_PREC, 1 / POST_PREC


def test_streaming_mcmc_statistics_match_the_posterior():
    pyro.set_rng_seed(7)
    mcmc = StreamingMCMC(NUTS(normal_normal), num_samples=500, warmup_steps=200,
                         num_chains=2, disable_progbar=True)
    mcmc.run(DATA)
    per_chain = mcmc.get_statistics(group_by_chain=True)
    assert set(per_chain) == {0, 1} and per_chain[0]["mu"]["count"] == 500
    merged = mcmc.get_statistics(group_by_chain=False)["mu"]
    assert merged["count"] == 1000
    # NUTS draws of a 1-d Gaussian are nearly independent: error ~ sd / sqrt(1000)
    sd = math.sqrt(POST_VAR)
    assert abs(float(merged["mean"]) - POST_MEAN) < 4.5 * sd / math.sqrt(500)
    assert float(merged["variance"]) == pytest.approx(POST_VAR, rel=0.3)
    assert float(mcmc.diagnostics()["mu"]["r_hat"]) < 1.05
    with pytest.raises(ValueError, match="get_statistics"):
        mcmc.get_samples()


def test_random_walk_kernel_recovers_the_posterior(assert_expectation):
    pyro.set_rng_seed(8)
    kernel = RandomWalkKernel(normal_normal, init_step_size=1.0)
    mcmc = MCMC(kernel, num_samples=2000, warmup_steps=500, disable_progbar=True)
    mcmc.run(DATA)
    mu = mcmc.get_samples()["mu"]
    assert_expectation(mu, POST_MEAN, "rw mean")
    assert_expectation((mu.double() - POST_MEAN) ** 2, POST_VAR, "rw variance")
    rate = mcmc.diagnostics()["acceptance rate"]["chain 0"]
    assert 0.1 < rate < 0.5  # adapted towards 0.234


def test_select_samples_picks_distinct_draws():
    s = {"a": torch.arange(10.0), "b": torch.arange(10.0) * 2}
    out = select_samples(s, 4)
    assert out["a"].shape == (4,) and len(set(out["a"].tolist())) == 4
    torch.testing.assert_close(out["b"], out["a"] * 2)
    with pytest.raises(ValueError, match="11"):
        select_samples(s, 11)


def test_logger_records_drive_one_progress_bar_per_chain():
    import logging
    import queue

    from pyro.infer.mcmc.api import logger_thread
    from pyro.infer.mcmc.logger import (
        MCMCLoggingHandler,
        ProgressBar,
        TqdmHandler,
        initialize_logger,
    )

    q = queue.Queue()
    for chain in range(2):  # two chains log through a queue, as child processes do
        log = initialize_logger(logging.getLogger(f"test-mcmc-chain-{chain}"), f"CHAIN:{chain}",
                                log_queue=q)
        log.info({"progress": 4, "stage": "Warmup", "postfix": {"step size": "1e-1"}})
        log.info({"progress": 6 - chain, "stage": "Sample"})
    records = [q.get() for _ in range(4)]
    bars = ProgressBar(4, 6, num_bars=2)
    handler = MCMCLoggingHandler(TqdmHandler(), bars)
    for r in records:
        handler.handle(r)
    assert [b.n for b in bars.progress_bars] == [10, 9]
    assert "Sample [1]" in bars.progress_bars[1].desc
    bars.close()
    for r in records:  # logger_thread drains the queue until None
        q.put(r)
    q.put(None)
    logger_thread(q, 4, 6, 2, disable_progbar=True)
    assert q.empty()


def test_util_predictive_draws_the_observations_at_each_posterior_draw():
    from pyro.infer.mcmc.util import predictive

    def model(n, data=None):
        mu = pyro.sample("mu", dist.Normal(0.0, 3.0))
        with pyro.plate("data", n):
            pyro.sample("obs", dist.Normal(mu, 1.0), obs=data)

    pyro.set_rng_seed(9)
    samples = {"mu": torch.tensor([-50.0, 0.0, 50.0])}
    out = predictive(model, samples, 10)
    assert set(out) == {"obs"} and out["obs"].shape == (3, 10)
    # obs ~ N(mu, 1) given each draw: the draw's mean is within 4.5 / sqrt(10) of mu
    assert ((out["obs"].mean(-1) - samples["mu"]).abs() < 4.5 / math.sqrt(10)).all()
