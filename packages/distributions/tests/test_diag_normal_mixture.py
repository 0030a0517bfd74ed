"""Mixtures of diagonal normals: the pathwise gradient of every parameter (weights
included) against the exact gradient of an analytic expectation; samples against the
density."""
import pytest
import torch

import pyro.distributions as dist
from pyro.distributions.testing.gof import auto_goodness_of_fit

TEST_FAILURE_RATE = 1e-3


def _quadratic_expectation(w, locs, scales):
    # E[x0^2 + x0 x1 + 2 x1] for a mixture of diagonal normals (coordinates independent
    # within a component)
    m0, m1 = locs[..., 0], locs[..., 1]
    return (w * (m0**2 + scales[..., 0] ** 2 + m0 * m1 + 2 * m1)).sum(-1)


def _f(x):
    return x[..., 0] ** 2 + x[..., 0] * x[..., 1] + 2 * x[..., 1]


def _check_pathwise(make, params, expectation, n=100000, chunks=20):
    """Estimate the gradient of E[f] in ``chunks`` independent pieces and compare their
    mean with the exact gradient within 5 standard errors (+ a small absolute slack)."""
    exact = torch.autograd.grad(expectation(*params), params)
    estimates = []
    for _ in range(chunks):
        x = make(*params).rsample((n // chunks,))
        estimates.append(torch.autograd.grad(_f(x).mean(), params))
    for i, g in enumerate(exact):
        est = torch.stack([e[i] for e in estimates])
        se = est.std(0) / chunks**0.5
        assert torch.all((est.mean(0) - g).abs() < 5 * se + 1e-3), (i, est.mean(0), g, se)


def test_mixture_of_diag_normals_pathwise_gradient():
    locs = torch.tensor([[0.0, 1.0], [2.0, -1.0], [-1.0, 3.0]], dtype=torch.float64,
                        requires_grad=True)
    scales = torch.tensor([[1.0, 0.5], [0.7, 1.2], [0.3, 0.8]], dtype=torch.float64,
                          requires_grad=True)
    logits = torch.tensor([0.1, -0.5, 0.7], dtype=torch.float64, requires_grad=True)
    _check_pathwise(dist.MixtureOfDiagNormals, [locs, scales, logits],
                    lambda m, s, lg: _quadratic_expectation(torch.softmax(lg, -1), m, s))


def test_shared_covariance_pathwise_gradient():
    locs = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=torch.float64, requires_grad=True)
    scale = torch.tensor([0.8, 1.3], dtype=torch.float64, requires_grad=True)
    logits = torch.tensor([0.4, -0.2], dtype=torch.float64, requires_grad=True)
    _check_pathwise(dist.MixtureOfDiagNormalsSharedCovariance, [locs, scale, logits],
                    lambda m, s, lg: _quadratic_expectation(torch.softmax(lg, -1), m,
                                                            s.expand(m.shape)))


def test_gaussian_scale_mixture_pathwise_gradient():
    coord = torch.tensor([0.8, 1.3], dtype=torch.float64, requires_grad=True)
    logits = torch.tensor([0.4, -0.2, 0.1], dtype=torch.float64, requires_grad=True)
    comp = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64, requires_grad=True)

    def expectation(c, lg, k):
        scales = k[:, None] * c
        return _quadratic_expectation(torch.softmax(lg, -1), torch.zeros_like(scales), scales)

    _check_pathwise(dist.GaussianScaleMixture, [coord, logits, comp], expectation)


@pytest.mark.parametrize("make", [
    lambda: dist.MixtureOfDiagNormals(torch.tensor([[0.0, 1.0], [2.0, -1.0]]),
                                      torch.tensor([[1.0, 0.5], [0.7, 1.2]]),
                                      torch.tensor([0.3, -0.3])),
    lambda: dist.GaussianScaleMixture(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 1.0]),
                                      torch.tensor([0.5, 1.5])),
])
def test_samples_match_density(make):
    d = make()
    x = d.sample((4000,))
    assert auto_goodness_of_fit(x, d.log_prob(x).exp()) > TEST_FAILURE_RATE


def test_one_dimension_and_batches():
    d = dist.MixtureOfDiagNormals(torch.zeros(4, 3, 1), torch.ones(4, 3, 1),
                                  torch.zeros(4, 3))
    assert d.batch_shape == (4,) and d.event_shape == (1,)
    x = d.rsample((5,))
    assert x.shape == (5, 4, 1)
    assert torch.allclose(d.log_prob(x), dist.Normal(0.0, 1.0).log_prob(x).squeeze(-1))
    e = d.expand((2, 4))
    assert e.sample().shape == (2, 4, 1)
    g = dist.GaussianScaleMixture(torch.ones(1), torch.zeros(2), torch.ones(2))
    assert g.event_shape == (1,) and torch.allclose(g.variance, torch.ones(1))


def test_shape_errors():
    with pytest.raises(ValueError, match="components"):
        dist.MixtureOfDiagNormals(torch.zeros(3, 2), torch.ones(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="coord_scale"):
        dist.MixtureOfDiagNormalsSharedCovariance(torch.zeros(3, 2), torch.ones(3),
                                                  torch.zeros(3))
    with pytest.raises(ValueError, match="same K"):
        dist.GaussianScaleMixture(torch.ones(2), torch.zeros(3), torch.ones(2))
