"""MCMC(hook_fn=...) programs written for Pyro read the kernel's per-iteration state
(Pyro's examples/sir_hmc.py logs ``float(kernel._potential_energy_last)``; users log
``kernel._mean_accept_prob``): the attributes exist with Pyro's meaning."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import HMC, MCMC, NUTS, RandomWalkKernel

LOC, SCALE = 1.0, 2.0


def model():
    pyro.sample("x", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
    pyro.sample("y", dist.Normal(LOC, SCALE))


def analytic_energy(params):
    """-log p of the model at real-valued (untransformed) params, and its gradient."""
    x, y = params["x"], params["y"]
    pe = -(dist.Normal(0.0, 1.0).log_prob(x).sum() + dist.Normal(LOC, SCALE).log_prob(y))
    return pe, {"x": x, "y": (y - LOC) / SCALE**2}


@pytest.mark.parametrize("kernel_cls", [NUTS, HMC])
def test_hook_reads_pyro_kernel_state(kernel_cls):
    pyro.set_rng_seed(0)
    seen = []

    def hook_fn(kernel, params, stage, i):
        pe = kernel._potential_energy_last
        assert isinstance(pe, torch.Tensor) and pe.shape == ()
        expected, grads = analytic_energy(params)
        assert float(pe) == pytest.approx(float(expected), rel=1e-5, abs=1e-5)
        for name, g in kernel._z_grads_last.items():
            torch.testing.assert_close(g, grads[name], rtol=1e-5, atol=1e-5)
        for name, v in kernel._z_last.items():
            assert torch.equal(v, params[name])
        assert isinstance(kernel._mean_accept_prob, float)
        assert 0.0 <= kernel._mean_accept_prob <= 1.0
        assert isinstance(kernel._accept_cnt, int)
        seen.append((stage, {k: v.clone() for k, v in params.items()}, kernel._accept_cnt,
                     kernel._mean_accept_prob))

    kernel = kernel_cls(model)
    mcmc = MCMC(kernel, num_samples=30, warmup_steps=20, hook_fn=hook_fn, disable_progbar=True)
    mcmc.run()
    assert len(seen) == 50
    # _accept_cnt: sampling transitions that moved the chain (0 during warmup)
    assert all(cnt == 0 for stage, _, cnt, _ in seen if stage == "Warmup")
    moved, prev = 0, seen[19][1]
    for stage, params, cnt, _ in seen[20:]:
        moved += any(not torch.equal(params[k], prev[k]) for k in params)
        prev = params
        assert cnt == moved
    assert moved > 0
    # at the end of sampling the stage mean is the acceptance rate diagnostics report
    assert seen[-1][3] == pytest.approx(kernel.diagnostics()["acceptance rate"], rel=1e-6)
    # one chain: a flat list of divergent iterations, as Pyro
    assert kernel._divergences == kernel.diagnostics()["divergences"]


def test_sir_hmc_style_energy_trace():
    # Pyro's examples/sir_hmc.py: an energy trace logged from hook_fn
    pyro.set_rng_seed(1)
    energies = []

    def hook_fn(kernel, *unused):
        energies.append(float(kernel._potential_energy_last))

    MCMC(NUTS(model, max_tree_depth=3), num_samples=10, warmup_steps=10, hook_fn=hook_fn,
         disable_progbar=True).run()
    assert len(energies) == 20 and all(math.isfinite(e) for e in energies)


def test_random_walk_kernel_counts():
    pyro.set_rng_seed(2)
    seen = []

    def hook_fn(kernel, params, stage, i):
        seen.append((stage, {k: v.clone() for k, v in params.items()}, kernel._accept_cnt,
                     kernel._mean_accept_prob))

    MCMC(RandomWalkKernel(model), num_samples=40, warmup_steps=10, hook_fn=hook_fn,
         disable_progbar=True).run()
    assert all(cnt == 0 for stage, _, cnt, _ in seen if stage == "Warmup")
    moved, prev = 0, seen[9][1]
    for _, params, cnt, mean in seen[10:]:
        moved += any(not torch.equal(params[k], prev[k]) for k in params)
        prev = params
        assert cnt == moved and 0.0 <= mean <= 1.0
    assert 0 < moved < 40
