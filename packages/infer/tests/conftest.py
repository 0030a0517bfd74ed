"""Test setup of pyro-infer: the fixtures shared by every package's tests
(:mod:`pyro.testing_fixtures`: one intra-op thread; each test starts from an empty
ParamStore, RNG seed 0 and validation on) and the tolerance of MCMC checks."""
import pytest
import torch

from pyro.ops.stats import effective_sample_size
from pyro.testing_fixtures import fresh_pyro_state, pytest_configure, run_readme_example  # noqa: F401

# Tolerances of MCMC checks. For a function f of the draws, the Monte Carlo error of its
# mean is sd(f) / sqrt(ESS(f)) (Markov chain CLT). sd(f) and ESS(f) are estimated from the
# draws (Geyer's ESS, capped at the number of draws so that antithetic chains do not
# tighten the bound) and a check passes when |mean f - E f| < N_SD of those errors: with
# N_SD = 4.5 a correct sampler fails one check with probability ~1e-5 (tests are seeded).
N_SD = 4.5


def _assert_expectation(values, exact, what=""):
    values = values.double()
    exact = torch.as_tensor(exact, dtype=torch.float64)
    n = values.size(0)
    ess = effective_sample_size(values.unsqueeze(0)).clamp(max=n)
    err = values.std(0) / ess.sqrt()
    mean = values.mean(0)
    assert not ((mean - exact).abs() > N_SD * err).any(), (
        f"{what}: estimate {mean.tolist()} vs exact {exact.tolist()}, allowed "
        f"{(N_SD * err).tolist()} (ESS {ess.tolist()})")


@pytest.fixture
def assert_expectation():
    """``assert_expectation(draws, exact, what)``: the mean of MCMC draws (leading dim)
    agrees with ``exact`` within N_SD Monte Carlo errors."""
    return _assert_expectation
