"""OneOneMatching / OneTwoMatching: exact partition functions against brute force,
exact samplers (chi^2 against the enumerated probabilities), modes, Bethe bounds."""
import itertools

import pytest
import torch

import pyro.distributions as dist
from pyro.distributions.one_one_matching import OneOneMatchingConstraint
from pyro.distributions.one_one_matching import maximum_weight_matching as mwm11
from pyro.distributions.one_two_matching import (
    OneTwoMatchingConstraint,
    enumerate_one_two_matchings,
)
from pyro.distributions.one_two_matching import maximum_weight_matching as mwm12
from pyro.distributions.testing.gof import multinomial_goodness_of_fit

TEST_FAILURE_RATE = 1e-3


def _brute_force(logits, matchings):
    rows = torch.arange(logits.size(0))
    scores = torch.stack([logits[rows, m].sum() for m in matchings])
    return torch.logsumexp(scores, 0), scores


@pytest.mark.parametrize("n", [1, 2, 4, 5])
def test_one_one_partition_function_and_enumeration(n):
    logits = torch.randn(n, n, dtype=torch.float64)
    d = dist.OneOneMatching(logits)
    support = d.enumerate_support()
    assert support.shape == (len(list(itertools.permutations(range(n)))), n)
    log_z, scores = _brute_force(logits, support)
    assert torch.allclose(d.log_partition_function, log_z)
    assert torch.allclose(d.log_prob(support), scores - log_z)
    assert torch.equal(d.mode(), support[scores.argmax()])


def test_one_one_samples_match_probabilities():
    logits = torch.randn(4, 4, dtype=torch.float64)
    d = dist.OneOneMatching(logits)
    support = d.enumerate_support()
    x = d.sample((6000,))
    assert d.support.check(x).all()
    counts = (x.unsqueeze(1) == support).all(-1).sum(0)
    assert multinomial_goodness_of_fit(d.log_prob(support).exp(), counts) > TEST_FAILURE_RATE


@pytest.mark.parametrize("n", [1, 2, 3])
def test_one_two_partition_function_and_enumeration(n):
    logits = torch.randn(2 * n, n, dtype=torch.float64)
    d = dist.OneTwoMatching(logits)
    support = enumerate_one_two_matchings(n)
    brute = [m for m in itertools.product(range(n), repeat=2 * n)
             if all(m.count(j) == 2 for j in range(n))]
    assert sorted(map(tuple, support.tolist())) == sorted(brute)
    log_z, scores = _brute_force(logits, support)
    assert torch.allclose(d.log_partition_function, log_z)
    assert torch.allclose(d.log_prob(support).exp().sum(), torch.ones((), dtype=torch.float64))
    assert torch.equal(d.mode(), support[scores.argmax()])


def test_one_two_samples_match_probabilities():
    logits = torch.randn(4, 2, dtype=torch.float64)
    d = dist.OneTwoMatching(logits)
    support = d.enumerate_support()
    x = d.sample((6000,))
    assert d.support.check(x).all()
    counts = (x.unsqueeze(1) == support).all(-1).sum(0)
    assert multinomial_goodness_of_fit(d.log_prob(support).exp(), counts) > TEST_FAILURE_RATE


def test_bethe_approximation_is_a_close_lower_bound():
    # Bethe permanent <= permanent <= 2^(N/2) Bethe permanent (Gurvits; Vontobel)
    logits = torch.randn(6, 6, dtype=torch.float64)
    exact = dist.OneOneMatching(logits).log_partition_function
    bethe = dist.OneOneMatching(logits, bp_iters=50).log_partition_function
    assert exact - 3 * torch.log(torch.tensor(2.0)) - 1e-6 <= bethe <= exact + 1e-6
    # a permutation matrix's permanent is exact under Bethe
    big = torch.full((3, 3), -30.0, dtype=torch.float64).fill_diagonal_(0.0)
    assert abs(dist.OneOneMatching(big, bp_iters=50).log_partition_function.item()) < 1e-6


def test_constraints_and_errors():
    assert OneOneMatchingConstraint(3).check(torch.tensor([[2, 0, 1], [0, 0, 1]])).tolist() == \
        [True, False]
    assert OneTwoMatchingConstraint(2).check(torch.tensor([[1, 0, 0, 1], [1, 1, 1, 0]])).tolist() \
        == [True, False]
    with pytest.raises(ValueError, match=r"\(N, N\)"):
        dist.OneOneMatching(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\(2N, N\)"):
        dist.OneTwoMatching(torch.zeros(3, 2))


def test_maximum_weight_matching_functions():
    logits = torch.tensor([[1.0, 5.0, 0.0], [4.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    assert mwm11(logits).tolist() == [1, 0, 2]
    two = torch.tensor([[5.0, 0.0], [4.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
    assert mwm12(two).tolist() == [0, 0, 1, 1]
