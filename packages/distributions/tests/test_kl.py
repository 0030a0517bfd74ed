"""KL divergences used by TraceMeanField_ELBO: torch's pairs on the Pyro wrappers and
Pyro's registrations (Independent, Delta, masked and expanded distributions, diagonal
Normal vs MultivariateNormal)."""
import math

import pytest
import torch

import pyro.distributions as dist
from pyro.distributions.kl import kl_divergence

D = torch.float64


def mc_kl(p, q, n=40000):
    """Monte Carlo KL(p||q) and its standard error."""
    x = p.sample((n,))
    terms = p.log_prob(x) - q.log_prob(x)
    return terms.mean(0), terms.std(0) / math.sqrt(n)


@pytest.mark.parametrize("pair", [
    (lambda: dist.Beta(torch.tensor([2.0, 0.7], dtype=D), torch.tensor([3.0, 1.5], dtype=D)),
     lambda: dist.Beta(torch.tensor([1.0, 2.0], dtype=D), torch.tensor([1.0, 2.5], dtype=D))),
    (lambda: dist.Gamma(torch.tensor([2.0, 5.0], dtype=D), torch.tensor([1.0, 2.0], dtype=D)),
     lambda: dist.Gamma(torch.tensor([3.0, 4.0], dtype=D), torch.tensor([2.0, 1.0], dtype=D))),
    (lambda: dist.Dirichlet(torch.tensor([[2.0, 1.0, 3.0]], dtype=D)),
     lambda: dist.Dirichlet(torch.tensor([[1.0, 1.0, 1.0]], dtype=D))),
    (lambda: dist.Normal(torch.tensor([0.0, 1.0], dtype=D), torch.tensor([1.0, 0.5], dtype=D)),
     lambda: dist.Normal(torch.tensor([0.5, 0.0], dtype=D), torch.tensor([2.0, 1.0], dtype=D))),
], ids=["beta", "gamma", "dirichlet", "normal"])
def test_torch_kl_pairs_apply_to_wrappers_and_match_monte_carlo(pair):
    p, q = pair[0](), pair[1]()
    kl = kl_divergence(p, q)
    est, se = mc_kl(p, q)
    # the MC estimate is a mean of n iid terms: 5 standard errors
    assert kl.shape == p.batch_shape
    assert ((kl - est).abs() <= 5 * se).all(), (kl, est, se)


def test_independent_normal_pair_and_mismatched_reinterpreted_dims():
    p_base = dist.Normal(torch.randn(2, 3, dtype=D), torch.rand(2, 3, dtype=D) + 0.5)
    q_base = dist.Normal(torch.randn(2, 3, dtype=D), torch.rand(2, 3, dtype=D) + 0.5)
    elementwise = kl_divergence(p_base, q_base)
    # mu, sigma closed form: log(s_q/s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2
    closed = ((q_base.scale / p_base.scale).log()
              + (p_base.scale**2 + (p_base.loc - q_base.loc) ** 2) / (2 * q_base.scale**2) - 0.5)
    assert torch.allclose(elementwise, closed)
    kl = kl_divergence(p_base.to_event(2), q_base.to_event(2))
    assert kl.shape == () and torch.allclose(kl, closed.sum())
    nested = dist.Independent(dist.Independent(q_base, 1), 1)  # same event, other nesting
    assert torch.allclose(kl_divergence(p_base.to_event(2), nested), closed.sum())
    kl1 = kl_divergence(p_base.to_event(1), q_base.to_event(1))
    assert kl1.shape == (2,) and torch.allclose(kl1, closed.sum(-1))


def test_delta_kl_is_negative_log_density():
    v = torch.tensor([0.3, -1.0])
    q = dist.Normal(torch.zeros(2), 2.0)
    assert torch.allclose(kl_divergence(dist.Delta(v), q), -q.log_prob(v))
    p = dist.Delta(torch.zeros(2, 3), event_dim=1)
    q = dist.Normal(torch.zeros(2, 3), 1.0).to_event(1)
    assert torch.allclose(kl_divergence(p, q), torch.full((2,), 1.5 * math.log(2 * math.pi)))


def test_masked_kl_is_zero_where_masked():
    p = dist.Normal(torch.zeros(3), 1.0)
    q = dist.Normal(torch.ones(3), 1.0)
    mask = torch.tensor([True, False, True])
    expected = torch.tensor([0.5, 0.0, 0.5])
    assert torch.allclose(kl_divergence(p.mask(mask), q), expected)
    assert torch.allclose(kl_divergence(p, q.mask(mask)), expected)
    assert torch.allclose(kl_divergence(p.mask(mask), q.mask(mask)), expected)
    assert torch.equal(kl_divergence(p.mask(False), q), torch.zeros(3))


def test_expanded_kl_broadcasts():
    p = dist.ExpandedDistribution(dist.Normal(torch.zeros(1), 1.0), (4, 1))
    q = dist.Normal(torch.tensor([1.0]), 1.0)
    kl = kl_divergence(p, q)
    assert kl.shape == (4, 1) and torch.allclose(kl, torch.full((4, 1), 0.5))


def test_diagonal_normal_vs_multivariate_normal():
    loc = torch.tensor([0.5, -0.2], dtype=D)
    scale = torch.tensor([1.5, 0.5], dtype=D)
    diag = dist.Normal(loc, scale).to_event(1)
    mvn = dist.MultivariateNormal(torch.zeros(2, dtype=D),
                                  torch.tensor([[1.0, 0.3], [0.3, 2.0]], dtype=D))
    as_mvn = dist.MultivariateNormal(loc, scale_tril=torch.diag(scale))
    assert torch.allclose(kl_divergence(diag, mvn), kl_divergence(as_mvn, mvn))
    assert torch.allclose(kl_divergence(mvn, diag), kl_divergence(mvn, as_mvn))
    est, se = mc_kl(diag, mvn)
    assert abs(kl_divergence(diag, mvn) - est) <= 5 * se


def test_wrapper_pairs_dispatch_without_ambiguity():
    import warnings

    base = dist.Normal(torch.zeros(2), 1.0)
    wrappers = [base, base.mask(torch.tensor([True, False])),
                dist.ExpandedDistribution(dist.Normal(torch.zeros(1), 1.0), (2,)),
                base.to_event(1).to_event(-1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on ambiguous registrations
        for p in wrappers + [dist.Delta(torch.zeros(2))]:
            for q in wrappers:
                kl = kl_divergence(p, q)
                assert kl.shape == (2,)
