"""MultivariateStudentT: density vs scipy, moments, reparameterized samples, shapes."""
import math

import numpy as np
import pytest
import scipy.stats as st
import torch

import pyro.distributions as dist


def _make(batch=(), df=6.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(1)
    loc = torch.randn(batch + (3,), generator=g, dtype=dtype)
    a = 0.3 * torch.randn(batch + (3, 3), generator=g, dtype=dtype)
    tril = a.tril(-1) + torch.diag_embed(torch.rand(batch + (3,), generator=g, dtype=dtype) + 0.5)
    return dist.MultivariateStudentT(torch.full(batch, df, dtype=dtype), loc, tril)


def test_log_prob_matches_scipy_with_broadcast_value():
    d = _make((2,))
    x = torch.randn(4, 1, 3, dtype=torch.float64)
    lp = d.log_prob(x)
    assert lp.shape == (4, 2)
    for i in range(2):
        ref = st.multivariate_t(d.loc[i].numpy(), d.covariance_matrix[i].numpy(),
                                df=6.0).logpdf(x[:, 0].numpy())
        assert np.allclose(lp[:, i].numpy(), ref)


def test_sample_moments():
    d = _make(df=7.0)
    n = 200000
    x = d.rsample((n,))
    cov = d.scale_tril @ d.scale_tril.T * 7 / 5
    # sd of the sample mean is sqrt(var / n); 5 sd
    assert torch.all((x.mean(0) - d.mean).abs() < 5 * (d.variance / n).sqrt())
    assert torch.allclose(torch.cov(x.T), cov, rtol=0.1, atol=0.05)
    assert torch.allclose(d.variance, cov.diagonal())


def test_moments_undefined_for_small_df():
    d = dist.MultivariateStudentT(torch.tensor([0.5, 1.5, 3.0]), torch.zeros(2), torch.eye(2))
    assert torch.isnan(d.mean[0]).all() and torch.isfinite(d.mean[1:]).all()
    assert torch.isnan(d.variance[0]).all() and torch.isinf(d.variance[1]).all()
    assert torch.allclose(d.variance[2], torch.tensor(3.0))


def test_rsample_gradient_flows_to_every_parameter():
    df = torch.tensor(4.0, requires_grad=True)
    loc = torch.zeros(2, requires_grad=True)
    tril = torch.eye(2).requires_grad_()
    x = dist.MultivariateStudentT(df, loc, tril).rsample((50,))
    x.pow(2).sum().backward()
    assert df.grad is not None and loc.grad is not None and tril.grad is not None


def test_large_df_approaches_normal():
    loc = torch.tensor([0.5, -1.0], dtype=torch.float64)
    tril = torch.tensor([[1.0, 0.0], [0.3, 0.7]], dtype=torch.float64)
    x = torch.randn(5, 2, dtype=torch.float64)
    t = dist.MultivariateStudentT(1e7, loc, tril).log_prob(x)
    assert torch.allclose(t, dist.MultivariateNormal(loc, scale_tril=tril).log_prob(x),
                          atol=1e-4)


def test_expand_and_shapes():
    d = _make((2,))
    e = d.expand((4, 2))
    assert e.batch_shape == (4, 2) and e.event_shape == (3,)
    assert e.sample((5,)).shape == (5, 4, 2, 3)
    assert torch.equal(e.df[3], d.df) and torch.equal(e.scale_tril[1], d.scale_tril)
    assert e.covariance_matrix.shape == (4, 2, 3, 3)
    assert torch.allclose(e.precision_matrix[0] @ d.covariance_matrix, torch.eye(3).double())


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="scale_tril"):
        dist.MultivariateStudentT(3.0, torch.zeros(3), torch.eye(2))
    with pytest.raises(ValueError, match="one-dimensional"):
        dist.MultivariateStudentT(3.0, torch.tensor(0.0), torch.eye(1))
    with pytest.raises(ValueError):
        dist.MultivariateStudentT(torch.ones(4), torch.zeros(3, 2), torch.eye(2))


def test_df_one_is_multivariate_cauchy_density():
    x = torch.tensor([[0.3, -0.2]])
    lp = dist.MultivariateStudentT(1.0, torch.zeros(2), torch.eye(2)).log_prob(x)
    # bivariate Cauchy: 1 / (2 pi (1 + |x|^2)^{3/2})
    expected = -math.log(2 * math.pi) - 1.5 * math.log1p(0.13)
    assert lp.item() == pytest.approx(expected, rel=1e-6)
