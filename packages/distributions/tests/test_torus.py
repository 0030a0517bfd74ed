"""Distributions on the torus: SineBivariateVonMises and SineSkewed (normalization, exact
samplers, errors)."""
import math

import pytest
import torch

import pyro.distributions as dist
from pyro.distributions.testing.gof import auto_goodness_of_fit

TEST_FAILURE_RATE = 1e-3


def _grid(n=401):
    t = torch.linspace(-math.pi, math.pi, n, dtype=torch.float64)
    phi, psi = torch.meshgrid(t, t, indexing="ij")
    return t, torch.stack([phi, psi], -1)


def _integral(d):
    t, x = _grid()
    f = d.log_prob(x).exp()
    return torch.trapezoid(torch.trapezoid(f, t, dim=-1), t).item()


@pytest.mark.parametrize("k1,k2,rho", [(2.0, 1.0, 0.5), (5.0, 3.0, -3.0), (1.0, 1.0, 0.0),
                                       (0.5, 4.0, 1.2)])
def test_sine_bivariate_von_mises_is_normalized(k1, k2, rho):
    d = dist.SineBivariateVonMises(torch.tensor(0.3, dtype=torch.float64), torch.tensor(-1.0),
                                   torch.tensor(k1), torch.tensor(k2), torch.tensor(rho))
    assert _integral(d) == pytest.approx(1.0, abs=1e-6)


def test_sine_bivariate_von_mises_samples_match_density():
    d = dist.SineBivariateVonMises(torch.tensor(0.3, dtype=torch.float64), torch.tensor(-1.0),
                                   torch.tensor(3.0), torch.tensor(2.0), torch.tensor(1.5))
    x = d.sample((4000,))
    assert x.shape == (4000, 2) and (x.abs() <= math.pi).all()
    # the samples' unwrapped neighbourhood: shift so the mode is away from the seam
    assert auto_goodness_of_fit(x, d.log_prob(x).exp()) > TEST_FAILURE_RATE


def test_weighted_correlation_and_errors():
    d = dist.SineBivariateVonMises(0.0, 0.0, torch.tensor(4.0), torch.tensor(9.0),
                                   weighted_correlation=torch.tensor(0.5))
    assert d.correlation.item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="exactly one"):
        dist.SineBivariateVonMises(0.0, 0.0, 1.0, 1.0)
    with pytest.warns(UserWarning, match="bimodal"):
        dist.SineBivariateVonMises(0.0, 0.0, torch.tensor(1.0), torch.tensor(1.0),
                                   torch.tensor(2.0))


def test_sine_skewed_is_normalized_and_sampled():
    base = dist.VonMises(torch.tensor([0.3, -1.0], dtype=torch.float64),
                         torch.tensor([2.0, 1.0], dtype=torch.float64)).to_event(1)
    d = dist.SineSkewed(base, torch.tensor([0.4, -0.5], dtype=torch.float64))
    assert _integral(d) == pytest.approx(1.0, abs=1e-6)
    x = d.sample((4000,))
    assert auto_goodness_of_fit(x, d.log_prob(x).exp()) > TEST_FAILURE_RATE
    bv = dist.SineBivariateVonMises(torch.tensor(0.3, dtype=torch.float64), torch.tensor(-1.0),
                                    torch.tensor(2.0), torch.tensor(1.0), torch.tensor(0.5))
    assert _integral(dist.SineSkewed(bv, torch.tensor([-0.3, 0.6], dtype=torch.float64))) == \
        pytest.approx(1.0, abs=1e-6)


def test_sine_skewed_shape_errors():
    with pytest.raises(ValueError, match="skewness parameter"):
        dist.SineSkewed(dist.VonMises(0.0, 1.0), torch.tensor([0.4]))
    d = dist.SineSkewed(dist.VonMises(torch.zeros(2), torch.ones(2)).to_event(1),
                        torch.tensor([[0.1, 0.2], [0.3, -0.2], [0.0, 0.5]]))
    assert d.batch_shape == (3,) and d.sample((4,)).shape == (4, 3, 2)
    assert d.expand((2, 3)).log_prob(torch.zeros(2)).shape == (2, 3)
