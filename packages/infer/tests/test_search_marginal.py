"""Search (exhaustive enumeration) and Marginal (exact distributions over return values)."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import EmpiricalMarginal, Marginal, Search, TracePosterior
from pyro.infer.value_distribution import ValueDistribution


def dice():
    a = pyro.sample("a", dist.Categorical(torch.ones(3) / 3))
    b = pyro.sample("b", dist.Categorical(torch.ones(3) / 3))
    pyro.factor("even", 0.0 if (a + b) % 2 == 0 else -math.inf)
    return a + b


def test_search_visits_every_execution_once():
    posterior = Search(dice).run()
    assert len(posterior.exec_traces) == 9
    pairs = {(tr.nodes["a"]["value"].item(), tr.nodes["b"]["value"].item())
             for tr in posterior.exec_traces}
    assert len(pairs) == 9


def test_search_posterior_with_factor_conditioning():
    posterior = Search(dice).run()
    marginal = EmpiricalMarginal(posterior)  # the return value a + b
    # even sums: (0,0)->0, (0,2),(2,0),(1,1)->2, (2,2)->4: P(2) = 3/5, mean = (0 + 6 + 4)/5
    assert marginal.mean.item() == pytest.approx(2.0, abs=1e-5)
    assert marginal.log_prob(torch.tensor(2)).exp().item() == pytest.approx(0.6, abs=1e-5)
    assert marginal.log_prob(torch.tensor(1)).exp().item() == pytest.approx(0.0, abs=1e-6)


def test_search_max_tries():
    with pytest.raises(ValueError, match="max_tries"):
        Search(dice, max_tries=3).run()


def test_marginal_decorator_gives_exact_distribution_over_return_values():
    @Marginal
    def sum_of_two():
        return dice()

    d = sum_of_two()
    assert isinstance(d, ValueDistribution)
    support = sorted(int(v) for v in d.enumerate_support())
    assert support == [0, 1, 2, 3, 4]
    probs = {int(v): d.log_prob(v).exp().item() for v in d.enumerate_support()}
    assert probs == pytest.approx({0: 0.2, 1: 0.0, 2: 0.6, 3: 0.0, 4: 0.2}, abs=1e-6)
    assert d.mean.item() == pytest.approx(2.0, abs=1e-5)
    # cached per arguments
    assert sum_of_two() is d


def test_marginal_over_strings_nests_inside_a_model():
    @Marginal
    def weather():
        rain = pyro.sample("rain", dist.Bernoulli(0.3))
        return "wet" if rain.item() else "dry"

    d = weather()
    assert set(d.enumerate_support()) == {"wet", "dry"}
    assert d.log_prob("wet").exp().item() == pytest.approx(0.3, abs=1e-6)
    assert d.log_prob("snow").item() == -math.inf
    assert d.sample() in ("wet", "dry")

    @Marginal
    def observer():
        sprinkler = pyro.sample("sprinkler", dist.Bernoulli(0.5))
        with poutine.scale(scale=2.0):
            pyro.sample("ground", weather(), obs="wet")
        return sprinkler

    # the observation does not depend on the sprinkler: its marginal stays at 0.5
    obs = observer()
    assert obs.log_prob(torch.tensor(1.0)).exp().item() == pytest.approx(0.5, abs=1e-6)


def test_marginal_of_a_trace_posterior():
    posterior = Search(dice).run()
    m = Marginal(posterior, sites=["a", "b"])
    assert set(m.empirical) == {"a", "b"}
    assert m.empirical["a"].mean.item() == pytest.approx(1.0, abs=1e-5)
    assert isinstance(posterior, TracePosterior)
    assert m.support()["a"].shape == (9,)


def test_value_distribution_merges_duplicates_and_checks_lengths():
    d = ValueDistribution(["x", "y", "x"], torch.log(torch.tensor([1.0, 2.0, 1.0])))
    assert d.log_prob("x").exp().item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="values"):
        ValueDistribution(["x"], torch.zeros(2))
