"""Goodness-of-fit tests for checking that a distribution's ``sample()`` agrees with its
``log_prob()``.

Each test returns a p-value ``gof``: ``Uniform(0, 1)``-distributed when the samples follow
the density, close to 0 when they do not. In a test suite choose a failure rate smaller
than one over the number of tests and assert ``gof > TEST_FAILURE_RATE``::

    TEST_FAILURE_RATE = 1 / 20  # a 1 in 20 chance of a spurious failure

    def test_my_distribution():
        d = MyDistribution()
        samples = d.sample([10000])
        probs = d.log_prob(samples).exp()
        assert auto_goodness_of_fit(samples, probs) > TEST_FAILURE_RATE

Continuous samples are mapped to (approximately) ``Exponential(1)`` variables by their
density: in one dimension the gap to the next sorted sample times ``n`` times the density,
in several dimensions the volume of the ball reaching the nearest neighbour in the other
half of the samples times that half's size times the density [1, 2, 3]; those are mapped
to ``Uniform(0, 1)`` and binned, and Pearson's :math:`\\chi^2` test compares the bin
counts with their expectations. The method follows the ``goftests`` library (https://github.com/posterior/goftests).

**References**

[1] P. Bickel, L. Breiman (1983), *Sums of functions of nearest neighbor distances, moment
bounds, limit theorems and a goodness of fit test*, Annals of Probability 11(1).

[2] M. Williams (2010), *How good are your fits? Unbinned multivariate goodness-of-fit
tests in high energy physics*, arXiv:1006.3019.

[3] Nearest neighbour distribution, https://en.wikipedia.org/wiki/Nearest_neighbour_distribution
"""
from __future__ import annotations

import math

import torch

from .special import chi2sf

__all__ = [
    "InvalidTest",
    "auto_goodness_of_fit",
    "density_goodness_of_fit",
    "exp_goodness_of_fit",
    "get_nearest_neighbor_distances",
    "multinomial_goodness_of_fit",
    "print_histogram",
    "unif01_goodness_of_fit",
    "vector_density_goodness_of_fit",
    "volume_of_sphere",
]

#: fewer expected samples per bin make Pearson's chi^2 approximation unreliable
MIN_EXPECTED_PER_BIN = 10
#: fewer bins make the test too weak to be worth running
MIN_BINS = 7
MAX_BINS = 100


class InvalidTest(ValueError):
    """Raised when a test cannot give a reliable p-value (typically: too few samples)."""


def print_histogram(probs, counts) -> None:
    """Print a table of probabilities and counts, most probable first, with a bar per
    count (the longest bar is 60 characters)."""
    probs = [float(p) for p in probs]
    counts = [int(c) for c in counts]
    scale = 60 / max(max(counts), 1)
    print(f"{'Prob':>8} {'Count':>8}")
    for p, c in sorted(zip(probs, counts), key=lambda pc: -pc[0]):
        print(f"{p:8.3f} {c:8d} {'-' * int(round(c * scale))}")


@torch.no_grad()
def multinomial_goodness_of_fit(probs, counts, *, total_count: int | None = None,
                                plot: bool = False) -> float:
    """Pearson's :math:`\\chi^2` test of ``counts`` against ``probs``, on possibly
    truncated data (https://en.wikipedia.org/wiki/Pearson%27s_chi-squared_test).

    :param probs: vector of bin probabilities (summing to 1, or less for truncated data).
    :param counts: vector of observed counts, one per bin.
    :param int total_count: the number of samples when the data are truncated (the bins
        listed do not hold every sample); by default ``counts.sum()``. The unlisted rest
        forms one more bin.
    :param bool plot: print a histogram.
    :returns: the p-value.
    :rtype: float
    :raises ValueError: if ``probs`` and ``counts`` differ in length.
    :raises InvalidTest: if a listed bin has positive count but zero probability.
    """
    probs = torch.as_tensor(probs, dtype=torch.float64).reshape(-1)
    counts = torch.as_tensor(counts, dtype=torch.float64).reshape(-1)
    if probs.shape != counts.shape:
        raise ValueError(f"multinomial_goodness_of_fit: {probs.numel()} probs but "
                         f"{counts.numel()} counts")
    if plot:
        print_histogram(probs, counts)
    if ((probs == 0) & (counts > 0)).any():
        raise InvalidTest("a bin of probability 0 has samples: the sampler is wrong")
    n = float(counts.sum()) if total_count is None else float(total_count)
    rest_prob = 1.0 - float(probs.sum())
    rest_count = n - float(counts.sum())
    keep = probs > 0
    expected = n * probs[keep]
    chi2 = float(((counts[keep] - expected) ** 2 / expected).sum())
    bins = int(keep.sum())
    if total_count is not None and rest_prob > 1e-12:
        chi2 += (rest_count - n * rest_prob) ** 2 / (n * rest_prob)
        bins += 1
    dof = bins - 1
    if dof < 1:
        return 1.0
    return chi2sf(chi2, dof)


@torch.no_grad()
def unif01_goodness_of_fit(samples, *, plot: bool = False) -> float:
    """Bin ``Uniform(0, 1)``-distributed samples into equal bins and apply Pearson's
    :math:`\\chi^2` test.

    :param samples: a vector of samples that should be ``Uniform(0, 1)``.
    :param bool plot: print a histogram.
    :returns: the p-value.
    :raises InvalidTest: with fewer than ``MIN_BINS * MIN_EXPECTED_PER_BIN`` samples.
    """
    samples = torch.as_tensor(samples, dtype=torch.float64).reshape(-1)
    if not bool(((samples >= 0) & (samples <= 1)).all()):
        raise ValueError("unif01_goodness_of_fit: samples must lie in [0, 1]")
    n = samples.numel()
    bin_count = min(n // MIN_EXPECTED_PER_BIN, MAX_BINS)
    if bin_count < MIN_BINS:
        raise InvalidTest(f"imprecise test, use more samples (got {n}, need "
                          f"{MIN_BINS * MIN_EXPECTED_PER_BIN})")
    bins = (samples * bin_count).long().clamp(max=bin_count - 1)
    counts = torch.bincount(bins, minlength=bin_count)
    probs = torch.full((bin_count,), 1 / bin_count, dtype=torch.float64)
    return multinomial_goodness_of_fit(probs, counts, plot=plot)


@torch.no_grad()
def exp_goodness_of_fit(samples, plot: bool = False) -> float:
    """Map ``Exponential(1)`` samples to ``Uniform(0, 1)`` by :math:`e^{-x}` and apply
    :func:`unif01_goodness_of_fit`.

    :param samples: a vector of samples that should be ``Exponential(1)``.
    :param bool plot: print a histogram.
    :returns: the p-value.
    """
    samples = torch.as_tensor(samples, dtype=torch.float64).reshape(-1)
    return unif01_goodness_of_fit(torch.exp(-samples.clamp(min=0)), plot=plot)


@torch.no_grad()
def density_goodness_of_fit(samples, probs, plot: bool = False) -> float:
    """Test real-valued samples against their densities: with the samples sorted,
    ``n * gap * density`` (the gap to the next sample, the density averaged over its two
    ends) is approximately ``Exponential(1)``; apply :func:`exp_goodness_of_fit`.

    :param samples: a vector of real samples.
    :param probs: the densities at those samples (``log_prob(samples).exp()``).
    :param bool plot: print a histogram.
    :returns: the p-value.
    :raises ValueError: if the two have different numbers of entries.
    """
    samples = torch.as_tensor(samples, dtype=torch.float64).reshape(-1)
    probs = torch.as_tensor(probs, dtype=torch.float64).reshape(-1)
    if samples.shape != probs.shape:
        raise ValueError(f"density_goodness_of_fit: {samples.numel()} samples but "
                         f"{probs.numel()} densities")
    order = samples.argsort()
    samples, probs = samples[order], probs[order]
    gaps = samples[1:] - samples[:-1]
    density = (probs[1:] + probs[:-1]) / 2
    return exp_goodness_of_fit(samples.numel() * gaps * density, plot=plot)


def volume_of_sphere(dim: int, radius):
    """Volume :math:`\\pi^{d/2} r^d / \\Gamma(d/2 + 1)` of a ``dim``-ball of ``radius``
    (a number or a tensor)."""
    return math.pi ** (dim / 2) / math.gamma(dim / 2 + 1) * radius**dim


@torch.no_grad()
def get_nearest_neighbor_distances(samples) -> torch.Tensor:
    """The Euclidean distance from each sample to its nearest other sample.

    :param samples: shape ``(n, ...)``, flattened to ``(n, d)``.
    :returns: float64 tensor of shape ``(n,)``.
    """
    x = torch.as_tensor(samples).to(torch.float64).reshape(len(samples), -1)
    result = torch.empty(len(x), dtype=torch.float64, device=x.device)
    chunk = 1024  # memory: chunk x n distances at a time
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start:start + chunk], x)
        rows = torch.arange(d.shape[0], device=x.device)
        d[rows, rows + start] = math.inf
        result[start:start + chunk] = d.min(-1).values
    return result


@torch.no_grad()
def vector_density_goodness_of_fit(samples, probs, *, dim: int | None = None,
                                   plot: bool = False) -> float:
    """Test vector-valued samples against their densities by the nearest-neighbour
    distribution [1, 2, 3]: for each sample of the first half, ``m * density *
    volume_of_sphere(dim, r)``, ``r`` the distance to its nearest neighbour among the ``m``
    samples of the second half, is approximately ``Exponential(1)``; apply
    :func:`exp_goodness_of_fit`. (Measuring against the other half rather than all other
    samples keeps mutual nearest neighbours from correlating the statistics.)

    :param samples: shape ``(n, d)`` (or ``(n, ...)``).
    :param probs: the densities at the samples, shape ``(n,)``, with respect to the
        volume (or surface) measure of the space the Euclidean distances are taken in: for
        a Dirichlet pass the first ``K - 1`` coordinates of the samples.
    :param int dim: the dimension of the submanifold the samples lie on (e.g. ``d - 1``
        for a simplex or a sphere); default ``d``.
    :param bool plot: print a histogram.
    :returns: the p-value.
    :raises InvalidTest: if the densities vary too much between neighbours for the test
        to be precise with this many samples.
    """
    x = torch.as_tensor(samples).to(torch.float64).reshape(len(samples), -1)
    probs = torch.as_tensor(probs, dtype=torch.float64).reshape(-1)
    if probs.numel() != len(x):
        raise ValueError(f"vector_density_goodness_of_fit: {len(x)} samples but "
                         f"{probs.numel()} densities")
    if dim is None:
        dim = x.shape[-1]
    # Mutual nearest neighbours share one distance, which correlates the binned values and
    # makes the chi^2 test anti-conservative; measure instead the distance from each sample
    # of the first half to its nearest neighbour in the second half (an independent set).
    half = len(x) // 2
    queries, refs = x[:half], x[half:]
    distances = torch.cat([torch.cdist(queries[i:i + 1024], refs).min(-1).values
                           for i in range(0, half, 1024)]) if half else x.new_zeros(0)
    exps = len(refs) * probs[:half] * volume_of_sphere(dim, distances)
    if not bool(torch.isfinite(exps).all()):
        raise InvalidTest("imprecision; use more samples (nearest-neighbour volumes "
                          "are not finite)")
    return exp_goodness_of_fit(exps, plot=plot)


@torch.no_grad()
def auto_goodness_of_fit(samples, probs, *, dim: int | None = None,
                         plot: bool = False) -> float:
    """:func:`density_goodness_of_fit` for scalar samples, else
    :func:`vector_density_goodness_of_fit`.

    :param samples: samples stacked on their leftmost dimension.
    :param probs: the densities at the samples, a vector.
    :param int dim: the manifold dimension, default ``samples.shape[1:].numel()``.
    :param bool plot: print a histogram.
    :returns: the p-value.
    """
    samples = torch.as_tensor(samples)
    if dim is None:
        dim = samples.shape[1:].numel()
    if dim == 1 and samples.shape[1:].numel() == 1:
        return density_goodness_of_fit(samples.reshape(-1), probs, plot=plot)
    return vector_density_goodness_of_fit(samples, probs, dim=dim, plot=plot)
