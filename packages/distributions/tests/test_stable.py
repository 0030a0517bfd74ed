"""Stable / StableWithLogProb: the Chambers-Mallows-Stuck sampler and the integrated density
against scipy's levy_stable, in both coordinate systems."""
import math

import numpy as np
import pytest
import scipy.stats as st
import torch

import pyro.distributions as dist
from pyro.distributions import stable_log_prob

PARAMS = [(1.5, 0.3), (0.8, -0.5), (1.0, 0.5), (1.9, 0.9), (0.5, 1.0), (1.0 + 1e-7, -0.4)]


def _scipy(alpha, beta, coords, loc, scale):
    st.levy_stable.parameterization = "S0" if coords == "S0" else "S1"
    return st.levy_stable(alpha, beta, loc=loc, scale=scale)


@pytest.mark.parametrize("alpha,beta", PARAMS)
def test_samples_follow_scipy_cdf_s0(alpha, beta):
    d = dist.Stable(torch.tensor(alpha, dtype=torch.float64), torch.tensor(beta), 2.0, 1.0)
    x = d.sample((2000,)).numpy()
    # Kolmogorov-Smirnov: p < 1e-3 happens by chance once in a thousand runs
    assert st.kstest(x, _scipy(alpha, beta, "S0", 1.0, 2.0).cdf).pvalue > 1e-3


@pytest.mark.parametrize("alpha,beta", [(1.5, 0.3), (0.8, -0.5), (1.9, 0.9)])
def test_samples_follow_scipy_cdf_s(alpha, beta):
    d = dist.Stable(torch.tensor(alpha, dtype=torch.float64), torch.tensor(beta), 2.0, 1.0,
                    coords="S")
    x = d.sample((2000,)).numpy()
    assert st.kstest(x, _scipy(alpha, beta, "S", 1.0, 2.0).cdf).pvalue > 1e-3


@pytest.mark.parametrize("coords", ["S0", "S"])
@pytest.mark.parametrize("alpha,beta", [(1.5, 0.3), (0.7, -0.5), (0.5, 0.9), (1.9, -0.2),
                                        (1.3, 1.0)])
def test_log_prob_matches_scipy(alpha, beta, coords):
    x = torch.tensor([-5.0, -1.0, -0.2, 0.0, 0.4, 1.0, 3.0, 10.0], dtype=torch.float64)
    d = dist.Stable(torch.tensor(alpha, dtype=torch.float64), torch.tensor(beta), 1.5, 0.3,
                    coords=coords)
    expected = _scipy(alpha, beta, coords, 0.3, 1.5).logpdf(x.numpy())
    finite = np.isfinite(expected) & (expected > -30)  # scipy is unreliable further out
    assert np.allclose(d.log_prob(x).numpy()[finite], expected[finite], rtol=1e-4)


@pytest.mark.parametrize("alpha,beta", [(1.0, 0.5), (1.0, -0.7), (1.0, 0.0), (1.0005, 0.3)])
def test_log_prob_at_stability_one(alpha, beta):
    x = torch.tensor([-3.0, -1.0, 0.0, 0.4, 2.0, 5.0], dtype=torch.float64)
    d = dist.Stable(torch.tensor(alpha, dtype=torch.float64), torch.tensor(beta))
    expected = _scipy(alpha, beta, "S0", 0.0, 1.0).logpdf(x.numpy())
    assert np.allclose(d.log_prob(x).numpy(), expected, atol=2e-3)


def test_stability_two_is_normal_and_one_symmetric_is_cauchy():
    x = torch.linspace(-4, 4, 9, dtype=torch.float64)
    two = dist.Stable(torch.tensor(2.0, dtype=torch.float64), 0.3, 1.5, 0.5)
    assert torch.allclose(two.log_prob(x), dist.Normal(0.5, 1.5 * math.sqrt(2)).log_prob(x))
    one = dist.Stable(torch.tensor(1.0, dtype=torch.float64), 0.0, 1.5, 0.5)
    assert torch.allclose(one.log_prob(x), dist.Cauchy(0.5, 1.5).log_prob(x))


def test_density_integrates_to_one():
    x = torch.linspace(-60, 60, 24001, dtype=torch.float64)
    d = dist.Stable(torch.tensor(1.6, dtype=torch.float64), -0.6, 0.8, 0.2)
    mass = torch.trapezoid(d.log_prob(x).exp(), x)
    # the tails beyond |x| = 60 hold about P(|X| > 60) ~ C 60^-1.6 ~ 1e-3
    assert abs(mass.item() - 1) < 3e-3


def test_rsample_is_differentiable_in_every_parameter():
    params = [torch.tensor(v, requires_grad=True) for v in (1.4, 0.3, 1.2, 0.5)]
    d = dist.Stable(*params)
    assert d.has_rsample
    x = d.rsample((100,))
    x.mean().backward()
    for p in params:
        assert p.grad is not None and torch.isfinite(p.grad)
    # x = loc + scale * z: d mean / d loc = 1 exactly
    assert params[3].grad.item() == pytest.approx(1.0)


def test_mean_variance_and_coords():
    d = dist.Stable(torch.tensor([1.5, 0.5, 2.0]), torch.tensor(0.3), 2.0, 1.0)
    assert torch.allclose(d.mean[0], torch.tensor(1 - 0.3 * 2 * math.tan(0.75 * math.pi)))
    assert math.isnan(d.mean[1]) and d.mean[2].item() == pytest.approx(1.0)
    assert torch.isinf(d.variance[:2]).all() and d.variance[2] == 8.0
    assert dist.Stable(1.5, 0.3, coords="S").mean == 0.0
    with pytest.raises(ValueError, match="coords"):
        dist.Stable(1.5, 0.3, coords="S1")


def test_median_of_symmetric_samples_is_loc():
    d = dist.Stable(torch.tensor(1.2), 0.0, 1.0, 3.0)
    x = d.sample((40000,))
    # the sample median's sd is 1 / (2 f(m) sqrt(n)) ~ 0.0085 here; 5 sd
    assert abs(x.median().item() - 3.0) < 0.045


def test_set_integrator_changes_accuracy():
    x = torch.tensor([10.0], dtype=torch.float64)
    d = dist.Stable(torch.tensor(1.0, dtype=torch.float64), 0.5)
    expected = _scipy(1.0, 0.5, "S0", 0.0, 1.0).logpdf(10.0)
    try:
        stable_log_prob.set_integrator(2)
        coarse = d.log_prob(x).item()
        stable_log_prob.set_integrator(200)
        fine = d.log_prob(x).item()
    finally:
        stable_log_prob.set_integrator(24)
    assert abs(fine - expected) < abs(coarse - expected)
    assert abs(fine - expected) < 1e-3
    with pytest.raises(ValueError):
        stable_log_prob.create_integrator(0)


def test_with_log_prob_is_a_stable_and_expands():
    d = dist.StableWithLogProb(torch.tensor([1.5, 1.7]), 0.2, coords="S")
    assert isinstance(d, dist.Stable)
    e = d.expand((3, 2))
    assert type(e) is dist.StableWithLogProb and e.coords == "S"
    assert e.sample().shape == (3, 2) and e.log_prob(torch.zeros(3, 2)).shape == (3, 2)
