"""Analytic means, variances, cdf and icdf of Pyro's families against scipy.stats."""
import numpy as np
import pytest
import scipy.stats as st
import torch

import pyro.distributions as dist

F64 = torch.float64


def _t(*values):
    return [torch.tensor(v, dtype=F64) for v in values]


CASES = [
    (lambda: dist.SkewLogistic(*_t([0.5, -1.0], [2.0, 0.5], [3.0, 0.4])),
     lambda: st.genlogistic([3.0, 0.4], [0.5, -1.0], [2.0, 0.5])),
    (lambda: dist.AffineBeta(*_t([2.0, 0.5], [3.0, 4.0], [-1.0, 2.0], [4.0, 0.5])),
     lambda: st.beta([2.0, 0.5], [3.0, 4.0], [-1.0, 2.0], [4.0, 0.5])),
    (lambda: dist.ExtendedBinomial(*_t([7.0, 3.0], [0.3, 0.8])),
     lambda: st.binom([7, 3], [0.3, 0.8])),
    (lambda: dist.ExtendedBetaBinomial(*_t([1.5, 0.7], [2.0, 3.0], [6.0, 4.0])),
     lambda: st.betabinom([6, 4], [1.5, 0.7], [2.0, 3.0])),
    (lambda: dist.AsymmetricLaplace(*_t([0.5, -1.0], [2.0, 0.5], [3.0, 0.4])),
     lambda: st.laplace_asymmetric([3.0, 0.4], [0.5, -1.0], [2.0, 0.5])),
]


@pytest.mark.parametrize("make,ref", CASES)
def test_mean_and_variance_match_scipy(make, ref):
    d, r = make(), ref()
    assert np.allclose(d.mean.numpy(), r.mean())
    assert np.allclose(d.variance.numpy(), r.var())


def test_skew_logistic_cdf_icdf_match_scipy():
    d = dist.SkewLogistic(*_t([0.5, -1.0], [2.0, 0.5], [3.0, 0.4]))
    r = st.genlogistic([3.0, 0.4], [0.5, -1.0], [2.0, 0.5])
    x = torch.tensor([[-3.0, 0.0], [1.0, 2.5], [6.0, -2.0]], dtype=F64)
    assert np.allclose(d.cdf(x).numpy(), r.cdf(x.numpy()))
    u = torch.tensor([[0.01, 0.3], [0.5, 0.9], [0.99, 0.7]], dtype=F64)
    assert np.allclose(d.icdf(u).numpy(), r.ppf(u.numpy()))


def test_stable_variance_and_mean_of_normal_limit():
    d = dist.Stable(*_t(2.0, 0.0, 1.5, 0.3))
    x = torch.linspace(-5, 5, 11, dtype=F64)
    assert d.variance.item() == pytest.approx(2 * 1.5**2)
    assert np.allclose(d.log_prob(x).numpy(), st.norm(0.3, 1.5 * np.sqrt(2)).logpdf(x.numpy()))


def test_soft_asymmetric_laplace_moments_match_convolution():
    # the sum of independent normal and asymmetric-Laplace variables
    d = dist.SoftAsymmetricLaplace(*_t(0.5, 2.0, 1.5, 0.4))
    al = st.laplace_asymmetric(1.5, 0.0, 2.0)
    assert d.mean.item() == pytest.approx(0.5 + al.mean())
    assert d.variance.item() == pytest.approx(al.var() + (2.0 * 0.4) ** 2)
