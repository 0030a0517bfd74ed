"""Kingman's coalescent: log densities against a direct event-by-event computation, the
rate-grid version and its per-step likelihood, the sampler's moments and fit."""
import math
from types import SimpleNamespace

import pytest
import torch

import pyro.distributions as dist
from pyro.distributions.coalescent import CoalescentTimesConstraint, bio_phylo_to_times
from pyro.distributions.testing.gof import exp_goodness_of_fit

TEST_FAILURE_RATE = 1e-3


def _direct_log_prob(leaf_times, coal_times, rate_fn):
    """Walk backward in time through the events, integrating the rate numerically."""
    events = sorted([(t, 0) for t in leaf_times] + [(t, 1) for t in coal_times],
                    key=lambda e: (-e[0], e[1]))
    k, lp, t_prev = 0, 0.0, events[0][0]
    for t, is_coal in events:
        if k >= 2:  # exposure on (t, t_prev) by the midpoint rule on a fine grid
            grid = torch.linspace(t, t_prev, 2001, dtype=torch.float64)
            mid = (grid[1:] + grid[:-1]) / 2
            lp -= k * (k - 1) / 2 * float((rate_fn(mid) * (grid[1:] - grid[:-1])).sum())
        if is_coal:
            lp += math.log(rate_fn(torch.tensor([t], dtype=torch.float64)).item()
                           * k * (k - 1) / 2)
            k -= 1
        else:
            k += 1
        t_prev = t
    return lp


LEAVES = [0.0, 1.0, 2.0, 2.5, 0.7]
COALS = [-1.5, -0.5, 0.3, 1.9]


def test_constant_rate_log_prob_matches_direct_computation():
    d = dist.CoalescentTimes(torch.tensor(LEAVES, dtype=torch.float64), 1.5)
    expected = _direct_log_prob(LEAVES, COALS, lambda t: torch.full_like(t, 1.5))
    assert d.log_prob(torch.tensor(COALS, dtype=torch.float64)).item() == \
        pytest.approx(expected, rel=1e-6)


def test_rate_grid_log_prob_and_per_step_likelihood():
    grid = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)

    def rate_fn(t):
        return grid[t.floor().clamp(0, 2).long()]

    leaves = torch.tensor(LEAVES, dtype=torch.float64)
    coals = torch.tensor(COALS, dtype=torch.float64)
    d = dist.CoalescentTimesWithRate(leaves, grid)
    expected = _direct_log_prob(LEAVES, COALS, rate_fn)
    assert d.log_prob(coals).item() == pytest.approx(expected, rel=1e-6)
    likelihood = dist.CoalescentRateLikelihood(leaves, coals, 3)
    parts = likelihood(grid)
    assert parts.shape == (3,) and parts.sum().item() == pytest.approx(expected, rel=1e-6)
    for t in range(3):
        assert likelihood(grid[t], t).item() == pytest.approx(parts[t].item())
    # a constant grid is the constant-rate coalescent
    flat = dist.CoalescentTimesWithRate(leaves, torch.full((4,), 1.5, dtype=torch.float64))
    assert torch.allclose(flat.log_prob(coals),
                          dist.CoalescentTimes(leaves, 1.5).log_prob(coals))


def test_batched_phylogenies():
    leaves = torch.tensor(LEAVES)
    coals = torch.tensor([COALS, [-2.0, -1.0, 0.5, 0.6]])
    d = dist.CoalescentTimes(leaves, torch.tensor([[1.0], [2.0]]))
    assert d.batch_shape == (2, 1) and d.event_shape == (4,)
    assert d.log_prob(coals).shape == (2, 2)


def test_sampler_moments_and_fit():
    # three simultaneous leaves: waits Exp(3 rate) then Exp(rate)
    d = dist.CoalescentTimes(torch.zeros(3, dtype=torch.float64), 1.5)
    x = d.sample((20000,))
    assert x.shape == (20000, 2) and d.support.check(x).all()
    expected = torch.tensor([-1 / 4.5 - 1 / 1.5, -1 / 4.5], dtype=torch.float64)
    se = x.std(0) / math.sqrt(20000)
    assert torch.all((x.mean(0) - expected).abs() < 5 * se)
    first_wait = -x[:, 1] * 4.5  # Exponential(1)
    assert exp_goodness_of_fit(first_wait) > TEST_FAILURE_RATE


def test_sampler_with_staggered_leaves_is_consistent():
    # two leaves at 0 and 1: the coalescence happens before 0 after an Exp(rate) wait
    d = dist.CoalescentTimes(torch.tensor([1.0, 0.0], dtype=torch.float64), 2.0)
    x = d.sample((5000,))[:, 0]
    assert (x < 0).all()
    assert exp_goodness_of_fit(-x * 2.0) > TEST_FAILURE_RATE


def test_constraint():
    c = CoalescentTimesConstraint(torch.tensor(LEAVES))
    assert c.check(torch.tensor(COALS))
    assert not c.check(torch.tensor([2.4, 2.45, 2.46, 2.47]))  # one lineage only
    assert not c.check(torch.tensor([0.3, -0.5, -1.5, 1.9]))  # unsorted
    assert CoalescentTimesConstraint(torch.tensor(LEAVES), ordered=False).check(
        torch.tensor([0.3, -0.5, -1.5, 1.9]))
    with pytest.raises(ValueError, match="coalescent times"):
        dist.CoalescentRateLikelihood(torch.zeros(3), torch.zeros(3), 2)


def test_bio_phylo_to_times_on_a_clade_tree():
    def clade(length, *children):
        return SimpleNamespace(branch_length=length, clades=list(children))

    # root -(1)- A -(2)- leaf, A -(1)- leaf ; root -(3)- leaf ; root -(0.5)- leaf (3 children)
    tree = clade(0.0, clade(1.0, clade(2.0), clade(1.0)), clade(3.0), clade(0.5))
    leaf, coal = bio_phylo_to_times(tree)
    assert sorted(leaf.tolist()) == [0.5, 2.0, 3.0, 3.0]
    assert coal.tolist() == [0.0, 0.0, 1.0]
    assert dist.CoalescentTimes(leaf).support.check(coal)
