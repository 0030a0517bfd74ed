"""SMCFilter on a linear-Gaussian state-space model against a Kalman filter written here:
filtering means and variances at every step (tolerance from the effective number of
particles), the log evidence kept in the weights, SMCState checks and SMCFailed."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.smcfilter import SMCFailed, SMCFilter, SMCState

A, Q, R = 0.9, 0.5, 0.8  # z_t = A z_{t-1} + N(0, Q); y_t = z_t + N(0, R); z_0 ~ N(0, 1)


class Model:
    def init(self, state):
        self.t = 0
        state["z"] = pyro.sample("z_0", dist.Normal(0.0, 1.0))

    def step(self, state, y):
        self.t += 1
        state["z"] = pyro.sample(f"z_{self.t}", dist.Normal(A * state["z"], math.sqrt(Q)))
        pyro.sample(f"y_{self.t}", dist.Normal(state["z"], math.sqrt(R)), obs=y)


class Guide:
    """The locally optimal proposal p(z_t | z_{t-1}, y_t) (a wider one would do too)."""

    def init(self, state):
        self.t = 0
        pyro.sample("z_0", dist.Normal(0.0, 1.2))

    def step(self, state, y):
        self.t += 1
        var = 1.0 / (1.0 / Q + 1.0 / R)
        loc = var * (A * state["z"] / Q + y / R)
        pyro.sample(f"z_{self.t}", dist.Normal(loc, math.sqrt(var)))


def kalman(ys):
    m, p = 0.0, 1.0
    out, log_z = [], 0.0
    for y in ys.tolist():
        m, p = A * m, A * A * p + Q
        s = p + R
        log_z += -0.5 * (math.log(2 * math.pi * s) + (y - m) ** 2 / s)
        k = p / s
        m, p = m + k * (y - m), (1 - k) * p
        out.append((m, p))
    return out, log_z


def simulate(t):
    z, ys = torch.randn(()), []
    for _ in range(t):
        z = A * z + math.sqrt(Q) * torch.randn(())
        ys.append(z + math.sqrt(R) * torch.randn(()))
    return torch.stack(ys)


@pytest.mark.parametrize("use_guide", [True, False])
def test_matches_kalman_filter(use_guide):
    pyro.set_rng_seed(0)
    ys = simulate(12)
    exact, log_z = kalman(ys)
    n = 4000
    smc = SMCFilter(Model(), Guide() if use_guide else None, num_particles=n,
                    max_plate_nesting=0)
    smc.init()
    for y, (m, p) in zip(ys, exact):
        smc.step(y)
        empirical = smc.get_empirical()["z"]
        w = torch.softmax(smc.state._log_weights, 0)
        ess = 1.0 / (w**2).sum().item()
        # the particles are correlated through resampling: allow for half the ESS
        err_mean = math.sqrt(p / (0.5 * ess))
        assert empirical.mean.item() == pytest.approx(m, abs=4.5 * err_mean)
        # var of the sample variance of a Gaussian: 2 p^2 / n
        err_var = math.sqrt(2 * p * p / (0.5 * ess))
        assert empirical.variance.item() == pytest.approx(p, abs=4.5 * err_var)
    lw = smc.state._log_weights
    log_z_hat = (lw.logsumexp(0) - math.log(n)).item()
    assert log_z_hat == pytest.approx(log_z, abs=0.15)


def test_state_checks_and_resampling_keeps_pairs():
    state = SMCState(5)
    with pytest.raises(ValueError, match="leading particle dim"):
        state["z"] = torch.zeros(3)
    with pytest.raises(ValueError, match="tensors"):
        state["z"] = 1.0
    state["z"] = torch.zeros(1, 2)
    assert state["z"].shape == (5, 2)


class ImpossibleModel(Model):
    def step(self, state, y):
        self.t += 1
        state["z"] = pyro.sample(f"z_{self.t}", dist.Normal(A * state["z"], 1.0))
        pyro.sample(f"y_{self.t}", dist.Uniform(state["z"] - 10.0, state["z"] - 9.0), obs=y)


def test_smc_failed_names_step():
    smc = SMCFilter(ImpossibleModel(), None, num_particles=10, max_plate_nesting=0)
    smc.init()
    with pytest.raises(SMCFailed, match="step 1"):
        with pyro.validation_enabled(False):
            smc.step(torch.tensor(50.0))
