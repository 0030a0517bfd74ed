"""pyro.infer.fit and the runners registered for ``pyro fit``."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import fit
from pyro.plugins import get_registry, hookimpl

# y_i ~ N(mu, 1), mu ~ N(0, 1), 4 points summing to 3.2: posterior N(0.64, 1 / 5)
DATA = {"y": torch.tensor([0.5, 1.0, 0.7, 1.0])}
POST_MEAN, POST_SD = 3.2 / 5, math.sqrt(1 / 5)


def model(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    with pyro.plate("data", len(y)):
        pyro.sample("y", dist.Normal(mu, 1.0), obs=y)


def test_runners_are_registered():
    assert {"svi", "importance", "nuts", "hmc"} <= set(get_registry("runners"))


def test_svi_runner():
    pytest.importorskip("pyro.infer.autoguide")
    pytest.importorskip("pyro.optim")
    out = fit(model, DATA, algo="svi", num_steps=400, num_samples=500, lr=0.05,
              progress_bar=False)
    assert out["group_by_chain"] is False
    mu = out["samples"]["mu"]
    assert mu.shape == (500,)
    # AutoNormal reaches the exact posterior here; 500 draws: mean sd 0.45/22 = 0.02,
    # plus the optimizer's jitter (~0.03 at lr 0.05)
    assert abs(mu.mean().item() - POST_MEAN) < 0.15
    assert abs(mu.std().item() - POST_SD) < 0.12
    assert out["info"]["num_steps"] == 400 and len(out["info"]["losses"]) == 400


def test_importance_runner():
    out = fit(model, DATA, algo="importance", num_samples=1000, progress_bar=False, seed=1)
    mu = out["samples"]["mu"]
    ess = out["info"]["ess"]
    assert mu.shape == (1000,) and 50 < ess <= 1000
    # resampled draws: mean error ~ POST_SD / sqrt(ESS), 5 sd
    assert abs(mu.mean().item() - POST_MEAN) < 5 * POST_SD / math.sqrt(ess)
    assert math.isfinite(out["info"]["log_evidence"])


def test_nuts_runner():
    out = fit(model, DATA, algo="nuts", num_samples=200, warmup_steps=100,
              progress_bar=False)
    mu = out["samples"]["mu"]
    assert mu.shape == (200,)
    # NUTS draws are nearly independent here: ESS ~> 100, 5 sd = 5 * 0.45 / 10
    assert abs(mu.mean().item() - POST_MEAN) < 0.23


def test_deterministic_sites_are_reported():
    def twice_model(y):
        mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
        pyro.deterministic("twice", 2 * mu)
        with pyro.plate("data", len(y)):
            pyro.sample("y", dist.Normal(mu, 1.0), obs=y)

    out = fit(twice_model, DATA, algo="importance", num_samples=50, progress_bar=False)
    assert set(out["samples"]) == {"mu", "twice"}
    assert torch.equal(out["samples"]["twice"], 2 * out["samples"]["mu"])


def test_hmc_runner_takes_leapfrog_steps_as_num_steps_hmc():
    out = fit(model, DATA, algo="hmc", num_samples=300, warmup_steps=150, num_steps_hmc=5,
              progress_bar=False)
    mu = out["samples"]["mu"]
    assert mu.shape == (300,) and out["info"]["algo"] == "hmc"
    # HMC with 5 leapfrog steps: ESS ~> 60 of 300 here, 5 sd = 5 * 0.45 / sqrt(60)
    assert abs(mu.mean().item() - POST_MEAN) < 0.3
    with pytest.raises(ValueError, match="hmc only"):
        fit(model, DATA, algo="nuts", num_samples=10, num_steps_hmc=5, progress_bar=False)


def test_unknown_algo_and_options():
    with pytest.raises(ValueError, match="installed"):
        fit(model, DATA, algo="nope")
    with pytest.raises(ValueError, match="bogus"):
        fit(model, DATA, algo="importance", num_samples=10, bogus=1)


class _Bar:
    def __init__(self):
        self.updates = 0
        self.closed = False

    def update(self, n=1):
        self.updates += n

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        self.closed = True


class _BarPlugin:
    def __init__(self):
        self.bars = []

    @hookimpl
    def pyro_progress_bar(self, total, desc, disable):
        bar = _Bar()
        self.bars.append((total, desc, bar))
        return bar


def test_progress_bar_hook_is_used_by_the_svi_runner():
    pytest.importorskip("pyro.infer.autoguide")
    pytest.importorskip("pyro.optim")
    plugin = _BarPlugin()
    pyro.plugins.register(plugin, name="test-bars")
    try:
        fit(model, DATA, algo="svi", num_steps=50, num_samples=10)
    finally:
        pyro.plugins.unregister(plugin)
    total, desc, bar = plugin.bars[0]
    assert total == 50 and bar.updates == 50 and bar.closed
