"""Families outside the batch-shape harness of test_families.py (GroupedNormalNormal,
TruncatedPolyaGamma) and family-specific behaviour of VonMises3D, NanMasked*, the
straight-through relaxations, MaskedMixture's support, Poisson(is_sparse), the
Distribution base class and the pyro.distributions.util helpers."""
import gc
import math
import weakref

import numpy as np
import pytest
import scipy.stats as st
import torch

import pyro.distributions as dist
from pyro.distributions.testing.gof import auto_goodness_of_fit, density_goodness_of_fit
from pyro.distributions.util import deep_to, detach, gather, scalar_like, weakmethod

TEST_FAILURE_RATE = 1e-3


# ----------------------------------------------------------------- GroupedNormalNormal


def _gnn():
    return dist.GroupedNormalNormal(torch.tensor([0.0, 1.0, -0.5], dtype=torch.float64),
                                    torch.tensor([1.0, 2.0, 0.3], dtype=torch.float64),
                                    torch.tensor([0.5, 1.0, 1.5, 0.7], dtype=torch.float64),
                                    torch.tensor([0, 1, 1, 2]))


def test_grouped_normal_normal_is_the_joint_gaussian_marginal():
    d = _gnn()
    g = d.group_idx.numpy()
    cov = np.diag(d.obs_scale.numpy() ** 2) + (g[:, None] == g[None, :]) * \
        d.prior_scale.numpy()[g][:, None] ** 2
    x = torch.tensor([[0.3, -1.0, 2.0, 0.1], [1.0, 0.0, 0.5, -0.4]], dtype=torch.float64)
    expected = st.multivariate_normal(d.prior_loc.numpy()[g], cov).logpdf(x.numpy())
    assert np.allclose(d.log_prob(x).numpy(), expected)
    assert d.batch_shape == () and d.event_shape == (4,)
    assert d.sample((3,)).shape == (3, 4)


def test_grouped_normal_normal_posterior_is_conjugate():
    d = _gnn()
    x = torch.tensor([0.3, -1.0, 2.0, 0.1], dtype=torch.float64)
    post = d.get_posterior(x)
    # group 1 sees obs 1, 2 with scales 1, 1.5 and prior N(1, 4)
    prec = 1 / 4 + 1 / 1 + 1 / 1.5**2
    mean = (1 / 4 + (-1.0) / 1 + 2.0 / 1.5**2) / prec
    assert post.loc[1].item() == pytest.approx(mean)
    assert post.scale[1].item() == pytest.approx(prec**-0.5)


def test_grouped_normal_normal_errors():
    with pytest.raises(ValueError, match="group_idx"):
        dist.GroupedNormalNormal(torch.zeros(2), torch.ones(2), torch.ones(3),
                                 torch.tensor([0, 1, 2]))


# ----------------------------------------------------------------- TruncatedPolyaGamma


def test_truncated_polya_gamma_density_and_samples():
    d = dist.TruncatedPolyaGamma(torch.zeros((), dtype=torch.float64))
    x = torch.linspace(1e-4, 2.5, 100001, dtype=torch.float64)
    assert torch.trapezoid(d.log_prob(x).exp(), x).item() == pytest.approx(1.0, abs=1e-6)
    # mean and variance of PG(1, 0) are 1/4 and 1/24 (the truncated mass is ~1e-4)
    m = torch.trapezoid(x * d.log_prob(x).exp(), x).item()
    assert m == pytest.approx(0.25, abs=1e-3)
    s = d.sample((40000,))
    assert s.dtype == torch.float64 and (s <= 2.5).all() and (s > 0).all()
    assert abs(s.mean().item() - 0.25) < 5 * math.sqrt(1 / 24 / 40000)


# ------------------------------------------------------------------------- VonMises3D


def test_von_mises_3d_normalized_and_sampled():
    c = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    d = dist.VonMises3D(c)
    # integrate over the sphere in spherical coordinates
    th = torch.linspace(0, math.pi, 801, dtype=torch.float64)
    ph = torch.linspace(0, 2 * math.pi, 1601, dtype=torch.float64)
    T, P = torch.meshgrid(th, ph, indexing="ij")
    x = torch.stack([T.sin() * P.cos(), T.sin() * P.sin(), T.cos()], -1)
    f = d.log_prob(x).exp() * T.sin()
    assert torch.trapezoid(torch.trapezoid(f, ph, dim=-1), th).item() == pytest.approx(1, abs=1e-4)
    s = d.sample((4000,))
    assert torch.allclose(s.norm(dim=-1), torch.ones(()).double())
    assert auto_goodness_of_fit(s, d.log_prob(s).exp(), dim=2) > TEST_FAILURE_RATE
    # E[x] = coth(k) - 1/k along the mean direction
    k = c.norm()
    mean = s.mean(0)
    assert torch.allclose(mean, (1 / k.tanh() - 1 / k) * c / k, atol=0.05)


def test_von_mises_3d_zero_concentration_is_uniform():
    d = dist.VonMises3D(torch.zeros(3))
    assert d.log_prob(torch.tensor([0.0, 1.0, 0.0])).item() == pytest.approx(-math.log(4 * math.pi))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        dist.VonMises3D(torch.zeros(2))


# ------------------------------------------------------------------------- NanMasked


def test_nan_masked_normal_and_gradient():
    loc = torch.tensor(0.5, requires_grad=True)
    x = torch.tensor([0.1, math.nan, 2.0])
    lp = dist.NanMaskedNormal(loc, 2.0).log_prob(x)
    assert lp[1] == 0 and torch.allclose(lp[[0, 2]], dist.Normal(0.5, 2.0).log_prob(x[[0, 2]]))
    lp.sum().backward()
    assert torch.isfinite(loc.grad)


def test_nan_masked_mvn_marginalizes_missing_coordinates():
    nan = math.nan
    cov = torch.tensor([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.5]], dtype=torch.float64)
    loc = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    x = torch.tensor([[0.5, nan, 1.0], [nan, nan, nan]], dtype=torch.float64)
    lp = dist.NanMaskedMultivariateNormal(loc, cov).log_prob(x)
    idx = [0, 2]
    expected = st.multivariate_normal(loc[idx].numpy(), cov[idx][:, idx].numpy()).logpdf([0.5, 1.0])
    assert lp[0].item() == pytest.approx(expected) and lp[1].item() == 0


# ------------------------------------------------------------ straight-through relaxations


def test_relaxed_bernoulli_straight_through():
    probs = torch.tensor([0.3, 0.8], requires_grad=True)
    d = dist.RelaxedBernoulliStraightThrough(torch.tensor(0.5), probs=probs)
    x = d.rsample((1000,))
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    # frequencies match the probabilities (binomial sd sqrt(p(1-p)/n), 5 sd)
    assert torch.all((x.mean(0) - probs).abs() < 5 * (probs * (1 - probs) / 1000).sqrt())
    relaxed = dist.RelaxedBernoulli(torch.tensor(0.5), probs=probs)
    assert torch.allclose(d.log_prob(x), relaxed.log_prob(x._unquantize))
    x.sum().backward()  # straight through: d x / d soft = 1
    assert probs.grad is not None and torch.all(probs.grad != 0)


def test_relaxed_one_hot_straight_through():
    logits = torch.tensor([0.1, 1.0, -0.5], requires_grad=True)
    d = dist.RelaxedOneHotCategoricalStraightThrough(torch.tensor(0.3), logits=logits)
    x = d.rsample((500,))
    assert torch.all(x.sum(-1) == 1) and set(x.unique().tolist()) == {0.0, 1.0}
    assert torch.isfinite(d.log_prob(x)).all()
    (x * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert logits.grad is not None and torch.any(logits.grad != 0)


# ------------------------------------------------------------------ mixture supports


def test_masked_mixture_support_is_masked_constraint():
    m = dist.MaskedMixture(torch.tensor([True, False]), dist.Normal(0.0, 1.0),
                           dist.Exponential(1.0))
    assert m.support.check(torch.tensor([-1.0, -1.0])).tolist() == [False, True]
    assert m.support.check(torch.tensor([1.0, -1.0])).tolist() == [True, True]
    same = dist.MaskedMixture(torch.tensor([True]), dist.Normal(0.0, 1.0), dist.Normal(1.0, 2.0))
    assert same.support is dist.constraints.real


# --------------------------------------------------------------- torch-level extras


def test_poisson_is_sparse_gives_the_same_log_prob():
    rate = torch.tensor([1.0, 2.0, 3.0, 0.5])
    x = torch.tensor([[0.0, 1.0, 0.0, 4.0], [2.0, 0.0, 0.0, 0.0]])
    sparse = dist.Poisson(rate, is_sparse=True)
    assert sparse.is_sparse
    assert torch.allclose(sparse.log_prob(x), dist.Poisson(rate).log_prob(x))
    assert torch.allclose(sparse.expand((2, 4)).log_prob(x), dist.Poisson(rate).log_prob(x))


def test_distribution_base_class():
    assert isinstance(dist.Normal(0.0, 1.0), dist.Distribution)
    assert issubclass(dist.TorchDistribution, dist.Distribution)
    assert not isinstance(dist.Normal(0.0, 1.0), dist.ExponentialFamily)

    class Coin(dist.Distribution):
        def sample(self):
            return torch.tensor(1.0)

        def log_prob(self, x):
            return torch.tensor(math.log(0.5))

    c = Coin()
    assert c() == 1.0 and c.score_parts(c()).score_function == math.log(0.5)
    with pytest.raises(TypeError):
        dist.Distribution()


# ------------------------------------------------------------------------- util


def test_util_helpers():
    x = torch.ones(3, requires_grad=True)
    d = dist.Normal(x * 2, 1.0)
    e = detach(d)
    assert not e.loc.requires_grad and d.loc.requires_grad
    assert e.loc.data_ptr() == d.loc.data_ptr()  # no data copied
    moved = deep_to({"d": d, "x": [x]}, torch.float64)
    assert moved["d"].loc.dtype == torch.float64 and moved["x"][0].dtype == torch.float64
    assert d.loc.dtype == torch.float32
    s = scalar_like(torch.zeros(2, dtype=torch.float64), 3)
    assert s.dtype == torch.float64 and s.shape == () and s.item() == 3
    v = torch.arange(12.0).reshape(3, 4)
    assert gather(v, torch.tensor([[2], [0], [1]]), -1).flatten().tolist() == [2.0, 4.0, 9.0]
    # broadcasting: a (4, 1) table indexed by (2, 1, 1) indices along dim -2
    out = gather(torch.arange(4.0).reshape(4, 1), torch.tensor([1, 3]).reshape(2, 1, 1), -2)
    assert out.flatten().tolist() == [1.0, 3.0]


def test_weakmethod_makes_no_reference_cycle():
    class Foo:
        def __init__(self):
            self.callback = self._callback

        @weakmethod
        def _callback(self, result):
            return result + 1

    foo = Foo()
    assert foo.callback(1) == 2
    ref = weakref.ref(foo)
    gc.disable()
    try:
        del foo
        assert ref() is None  # freed by reference counting alone
    finally:
        gc.enable()


def test_samplers_of_skew_logistic_and_affine_beta():
    d = dist.SkewLogistic(0.5, 2.0, 3.0)
    x = d.sample((4000,))
    assert density_goodness_of_fit(x, d.log_prob(x).exp()) > TEST_FAILURE_RATE
    a = dist.AffineBeta(2.0, 3.0, -1.0, 4.0)
    y = a.sample((4000,))
    assert (y > -1).all() and (y < 3).all()
    assert density_goodness_of_fit(y, a.log_prob(y).exp()) > TEST_FAILURE_RATE
