"""pyro.distributions.testing: goodness-of-fit tests, fakes, naive and rejection samplers
(their densities, sample moments and gradient estimators), special functions."""
import math

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
import torch

import pyro.distributions as dist
from pyro.distributions.testing import fakes, gof, special
from pyro.distributions.testing.naive_dirichlet import NaiveBeta, NaiveDirichlet
from pyro.distributions.testing.rejection_exponential import RejectionExponential
from pyro.distributions.testing.rejection_gamma import (
    RejectionGamma,
    RejectionStandardGamma,
    ShapeAugmentedBeta,
    ShapeAugmentedDirichlet,
    ShapeAugmentedGamma,
)

TEST_FAILURE_RATE = 1e-3


# ------------------------------------------------------------------------ special


@pytest.mark.parametrize("x,s", [(2.0, 3.0), (0.1, 0.5), (30.0, 2.0), (500.0, 400.0)])
def test_incomplete_gamma_and_chi2sf_match_scipy(x, s):
    if s < 100:
        assert special.incomplete_gamma(x, s) == pytest.approx(sp.gammainc(s, x) * sp.gamma(s),
                                                               rel=1e-12)
    assert special.chi2sf(x, s) == pytest.approx(st.chi2.sf(x, s), rel=1e-6, abs=1e-15)


def test_special_log_and_errors():
    assert special.log(0) == -math.inf and special.log(-1.0) == -math.inf
    assert special.log(2.0) == math.log(2.0)
    assert special.chi2sf(0.0, 3) == 1.0
    with pytest.raises(ValueError):
        special.incomplete_gamma(1.0, 0.0)


# ------------------------------------------------------------------------ gof


def test_multinomial_goodness_of_fit_matches_scipy_chisquare():
    probs = torch.tensor([0.2, 0.3, 0.5])
    counts = torch.tensor([30, 25, 45])
    expected = st.chisquare(counts.numpy(), [20.0, 30.0, 50.0]).pvalue
    assert gof.multinomial_goodness_of_fit(probs, counts) == pytest.approx(expected, rel=1e-6)
    # truncated data: the missing 20 samples fall in a fourth bin of probability 0.2
    tp = gof.multinomial_goodness_of_fit(torch.tensor([0.2, 0.3, 0.3]), counts, total_count=120)
    full = st.chisquare([30, 25, 45, 20], 120 * np.array([0.2, 0.3, 0.3, 0.2])).pvalue
    assert tp == pytest.approx(full, rel=1e-6)
    with pytest.raises(gof.InvalidTest):
        gof.multinomial_goodness_of_fit(torch.tensor([0.5, 0.5, 0.0]), counts)


def test_unif01_and_exp_gof_accept_right_and_reject_wrong_samples():
    u = torch.rand(5000)
    assert gof.unif01_goodness_of_fit(u) > TEST_FAILURE_RATE
    assert gof.unif01_goodness_of_fit(u**1.2) < TEST_FAILURE_RATE
    e = torch.distributions.Exponential(1.0).sample((5000,))
    assert gof.exp_goodness_of_fit(e) > TEST_FAILURE_RATE
    assert gof.exp_goodness_of_fit(e * 1.2) < TEST_FAILURE_RATE
    with pytest.raises(gof.InvalidTest, match="more samples"):
        gof.unif01_goodness_of_fit(torch.rand(10))


def test_p_values_are_roughly_uniform_under_the_null():
    ps = []
    for _ in range(40):
        x = torch.randn(1000)
        ps.append(gof.density_goodness_of_fit(x, dist.Normal(0, 1).log_prob(x).exp()))
    # 40 uniform p-values: Kolmogorov-Smirnov against U(0, 1)
    assert st.kstest(ps, "uniform").pvalue > TEST_FAILURE_RATE


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_auto_goodness_of_fit_detects_a_wrong_scale(dim):
    x = torch.randn(6000, dim) if dim > 1 else torch.randn(6000)
    right = dist.Normal(0.0, 1.0).log_prob(x)
    wrong = dist.Normal(0.0, 1.5).log_prob(x)
    if dim > 1:
        right, wrong = right.sum(-1), wrong.sum(-1)
    assert gof.auto_goodness_of_fit(x, right.exp()) > TEST_FAILURE_RATE
    assert gof.auto_goodness_of_fit(x, wrong.exp()) < TEST_FAILURE_RATE


def test_nearest_neighbor_distances_and_sphere_volume():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    assert gof.get_nearest_neighbor_distances(x).tolist() == [1.0, pytest.approx(18**0.5), 1.0]
    assert gof.volume_of_sphere(3, 2.0) == pytest.approx(4 / 3 * math.pi * 8)
    assert torch.allclose(gof.volume_of_sphere(2, torch.tensor([1.0, 2.0])),
                          math.pi * torch.tensor([1.0, 4.0]))


def test_print_histogram(capsys):
    gof.print_histogram(torch.tensor([0.2, 0.5]), torch.tensor([20, 50]))
    lines = capsys.readouterr().out.splitlines()
    assert "Prob" in lines[0] and lines[1].split()[:2] == ["0.500", "50"]
    assert lines[1].count("-") == 60 and lines[2].count("-") == 24


# ------------------------------------------------------------------------ fakes


@pytest.mark.parametrize("fake,real,args", [
    (fakes.NonreparameterizedNormal, dist.Normal, (0.5, 2.0)),
    (fakes.NonreparameterizedBeta, dist.Beta, (2.0, 3.0)),
    (fakes.NonreparameterizedGamma, dist.Gamma, (2.0, 3.0)),
    (fakes.NonreparameterizedDirichlet, dist.Dirichlet, (torch.tensor([1.0, 2.0, 3.0]),)),
])
def test_fakes_are_not_reparameterized(fake, real, args):
    d = fake(*args)
    assert not d.has_rsample and isinstance(d, real)
    x = d.sample((3,))
    assert torch.allclose(d.log_prob(x), real(*args).log_prob(x))
    parts = d.score_parts(x)
    assert torch.equal(parts.score_function, parts.log_prob) and parts.entropy_term == 0


# ------------------------------------------------------------------ naive / rejection


def test_naive_dirichlet_and_beta_samples_follow_density():
    alpha = torch.tensor([0.7, 2.0, 3.0])
    x = NaiveDirichlet(alpha).rsample((4000,))
    # the density is with respect to the first K - 1 coordinates: measure distances there
    assert gof.auto_goodness_of_fit(x[:, :2], dist.Dirichlet(alpha).log_prob(x).exp()) > \
        TEST_FAILURE_RATE
    b = NaiveBeta(torch.tensor(2.0), torch.tensor(0.8)).rsample((4000,))
    assert gof.density_goodness_of_fit(b, dist.Beta(2.0, 0.8).log_prob(b).exp()) > \
        TEST_FAILURE_RATE


@pytest.mark.parametrize("make,ref", [
    (lambda: RejectionStandardGamma(torch.tensor(2.5)), dist.Gamma(2.5, 1.0)),
    (lambda: RejectionGamma(torch.tensor(3.0), torch.tensor(2.0)), dist.Gamma(3.0, 2.0)),
    (lambda: ShapeAugmentedGamma(torch.tensor(0.4), torch.tensor(1.5)), dist.Gamma(0.4, 1.5)),
    (lambda: ShapeAugmentedGamma(torch.tensor(0.4), torch.tensor(1.5), boost=3),
     dist.Gamma(0.4, 1.5)),
    (lambda: RejectionExponential(torch.tensor(2.0), torch.tensor(0.3)), dist.Exponential(2.0)),
    (lambda: ShapeAugmentedBeta(torch.tensor(0.5), torch.tensor(2.0)), dist.Beta(0.5, 2.0)),
])
def test_rejection_samplers_match_their_target(make, ref):
    d = make()
    x = d.rsample((4000,))
    assert torch.allclose(d.log_prob(x), ref.log_prob(x), atol=1e-4)
    assert gof.density_goodness_of_fit(x, ref.log_prob(x).exp()) > TEST_FAILURE_RATE


def test_shape_augmented_dirichlet_samples():
    alpha = torch.tensor([0.8, 1.0, 2.0])
    x = ShapeAugmentedDirichlet(alpha).rsample((4000,))
    assert gof.auto_goodness_of_fit(x[:, :2], dist.Dirichlet(alpha).log_prob(x).exp()) > \
        TEST_FAILURE_RATE
    # a concentration below 1 (unbounded density: nearest neighbours are unreliable):
    # the first coordinate is Beta(0.3, 3)
    x = ShapeAugmentedDirichlet(torch.tensor([0.3, 1.0, 2.0])).rsample((4000,))[:, 0]
    assert gof.density_goodness_of_fit(x, dist.Beta(0.3, 3.0).log_prob(x).exp()) > \
        TEST_FAILURE_RATE


def test_rejection_gamma_refuses_small_concentration():
    with pytest.raises(ValueError, match="ShapeAugmentedGamma"):
        RejectionStandardGamma(torch.tensor([0.5, 2.0]))


@pytest.mark.parametrize("make,grad_mean", [
    # E[x] = alpha / rate: d/d alpha = 1 / rate
    (lambda a: RejectionGamma(a, torch.full_like(a, 2.0)), 0.5),
    (lambda a: ShapeAugmentedGamma(a, torch.full_like(a, 2.0)), 0.5),
    # E[x] = 1 / rate: d/d rate = -1 / rate^2
    (lambda a: RejectionExponential(a, torch.full_like(a, 0.5)), -1 / 1.5**2),
])
def test_rejection_gradient_estimator_is_unbiased(make, grad_mean):
    # surrogate: x + stop_grad(x) * score_function (Naesseth et al. 2017); one parameter
    # copy per draw gives the per-draw gradient estimates in one backward pass
    n = 20000
    param = torch.full((n,), 1.5, requires_grad=True)
    d = make(param)
    x = d.rsample()
    surrogate = x + x.detach() * d.score_parts(x).score_function
    surrogate.sum().backward()
    grads = param.grad
    # mean of the per-draw gradient estimates, 5 standard errors
    se = grads.std() / math.sqrt(n)
    assert abs(grads.mean().item() - grad_mean) < 5 * se.item()
