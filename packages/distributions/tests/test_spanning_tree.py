"""SpanningTree: the matrix-tree partition function against brute-force enumeration,
the exact (Wilson) and MCMC samplers against the enumerated probabilities, edge
marginals, the best tree, the helper functions."""
import pytest
import torch

import pyro.distributions as dist
from pyro.distributions.spanning_tree import (
    enumerate_spanning_trees,
    find_best_tree,
    make_complete_graph,
    sample_tree,
    sample_tree_approx,
    sample_tree_mcmc,
)
from pyro.distributions.testing.gof import multinomial_goodness_of_fit

TEST_FAILURE_RATE = 1e-3


@pytest.mark.parametrize("V", [2, 3, 4, 5])
def test_partition_function_and_enumeration(V):
    logits = torch.randn(V * (V - 1) // 2, dtype=torch.float64)
    d = dist.SpanningTree(logits)
    trees = d.enumerate_support()
    assert len(trees) == V ** (V - 2)  # Cayley's formula
    i, j = make_complete_graph(V)
    rank = {(a, b): k for k, (a, b) in enumerate(zip(i.tolist(), j.tolist()))}
    scores = torch.stack([sum(logits[rank[tuple(e)]] for e in t.tolist()) for t in trees])
    assert torch.allclose(d.log_partition_function, torch.logsumexp(scores, 0))
    assert torch.allclose(d.log_prob(trees), scores - torch.logsumexp(scores, 0))
    assert torch.equal(d.mode, trees[scores.argmax()])
    assert torch.equal(find_best_tree(logits), d.mode)


def test_edge_mean_is_the_marginal_probability():
    logits = torch.randn(10, dtype=torch.float64)
    d = dist.SpanningTree(logits)
    trees = d.enumerate_support()
    probs = d.log_prob(trees).exp()
    expected = torch.zeros(5, 5, dtype=torch.float64)
    for t, p in zip(trees, probs):
        for a, b in t.tolist():
            expected[a, b] += p
            expected[b, a] += p
    assert torch.allclose(d.edge_mean, expected)
    assert torch.allclose(d.edge_mean.sum(), torch.tensor(2.0 * 4, dtype=torch.float64))


def _counts(d, samples):
    trees = d.enumerate_support()
    return (samples.unsqueeze(1) == trees).all(-1).all(-1).sum(0), d.log_prob(trees).exp()


def test_exact_sampler_matches_probabilities():
    d = dist.SpanningTree(torch.randn(6, dtype=torch.float64))
    x = d.sample((3000,))
    assert x.shape == (3000, 3, 2)
    counts, probs = _counts(d, x)
    assert counts.sum() == 3000  # every sample is a valid, canonically sorted tree
    assert multinomial_goodness_of_fit(probs, counts) > TEST_FAILURE_RATE


def test_mcmc_sampler_is_stationary_for_the_distribution():
    logits = torch.randn(6, dtype=torch.float64)
    d = dist.SpanningTree(logits)
    # start from exact samples; one Gibbs sweep must preserve the distribution
    start = d.sample((2000,))
    moved = torch.stack([sample_tree_mcmc(logits, t) for t in start])
    counts, probs = _counts(d, moved)
    assert counts.sum() == 2000
    assert multinomial_goodness_of_fit(probs, counts) > TEST_FAILURE_RATE


def test_helpers_return_canonical_trees():
    assert make_complete_graph(4).tolist() == [[0, 0, 1, 0, 1, 2], [1, 2, 2, 3, 3, 3]]
    assert enumerate_spanning_trees(3) == [((0, 1), (0, 2)), ((0, 1), (1, 2)),
                                           ((0, 2), (1, 2))]
    logits = torch.randn(10)
    trees = {tuple(map(tuple, t)) for t in enumerate_spanning_trees(5)}
    for tree in [sample_tree(logits), sample_tree_approx(logits),
                 sample_tree(logits, init_edges=find_best_tree(logits), mcmc_steps=3),
                 dist.SpanningTree(logits, {"mcmc_steps": 2}).sample()]:
        assert tuple(map(tuple, tree.tolist())) in trees


def test_errors():
    with pytest.raises(ValueError, match="V\\*\\(V-1\\)/2"):
        dist.SpanningTree(torch.zeros(4))
