"""Marginals (Pyro 1.x's per-site marginals of a TracePosterior) and Marginal's two forms,
now in separate modules (abstract_infer and marginal)."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import Marginal, Search
from pyro.infer.abstract_infer import EmpiricalMarginal, Marginals


def two_coins():
    a = pyro.sample("a", dist.Bernoulli(0.25))
    b = pyro.sample("b", dist.Bernoulli(0.5))
    return a + b


def test_marginals_hold_one_empirical_marginal_per_site():
    posterior = Search(two_coins).run()
    m = posterior.marginal()
    assert isinstance(m, Marginals) and m.sites == ["a", "b"]
    assert isinstance(m.empirical["a"], EmpiricalMarginal)
    # exact enumeration: E[a] = 0.25, E[b] = 0.5
    assert m.empirical["a"].mean.item() == pytest.approx(0.25, abs=1e-6)
    assert m.empirical["b"].mean.item() == pytest.approx(0.5, abs=1e-6)
    support = m.support(flatten=True)
    assert support["a"].shape == (4, 1)
    assert sorted(support["a"].reshape(-1).tolist()) == [0.0, 0.0, 1.0, 1.0]


def test_marginal_of_a_posterior_is_marginals_of_one_site():
    posterior = Search(two_coins).run()
    m = Marginal(posterior, "b")
    assert isinstance(m, Marginals) and list(m.empirical) == ["b"]


def test_marginal_of_a_function_gives_the_exact_return_distribution():
    d = Marginal(two_coins)()
    expected = {0.0: 0.75 * 0.5, 1.0: 0.25 * 0.5 + 0.75 * 0.5, 2.0: 0.25 * 0.5}
    for value, p in expected.items():
        assert d.log_prob(torch.tensor(value)).exp().item() == pytest.approx(p, abs=1e-6)


def test_marginals_reject_what_is_not_a_posterior():
    with pytest.raises(ValueError, match="TracePosterior"):
        Marginals(two_coins)
    with pytest.raises(ValueError, match="has no traces"):
        Search(two_coins).log_weight_tensor()
