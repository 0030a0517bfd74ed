"""Random perfect matchings between two sets of equal size."""
from __future__ import annotations

import itertools
import math

import torch

from . import constraints
from .torch_distribution import TorchDistribution

__all__ = ["OneOneMatching", "OneOneMatchingConstraint", "maximum_weight_matching"]


class OneOneMatchingConstraint(constraints.Constraint):
    """Long vectors of length ``num_nodes`` that are permutations of ``0..num_nodes-1``."""

    is_discrete = True
    event_dim = 1

    def __init__(self, num_nodes: int) -> None:
        self.num_nodes = num_nodes
        super().__init__()

    def check(self, value):
        if value.size(-1) != self.num_nodes:
            return torch.zeros(value.shape[:-1], dtype=torch.bool, device=value.device)
        in_range = ((value >= 0) & (value < self.num_nodes)).all(-1)
        distinct = (value.sort(-1).values == torch.arange(self.num_nodes,
                                                          device=value.device)).all(-1)
        return in_range & distinct


def _hungarian(cost: list[list[float]]) -> list[int]:
    """Minimum-cost assignment of an ``n x n`` cost matrix (rows to columns), by the
    Hungarian algorithm with potentials in O(n^3) (Kuhn 1955; Munkres 1957)."""
    n = len(cost)
    inf = math.inf
    u = [0.0] * (n + 1)
    v = [0.0] * (n + 1)
    p = [0] * (n + 1)  # p[j]: the row matched to column j (1-based; 0 = none)
    way = [0] * (n + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [inf] * (n + 1)
        used = [False] * (n + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    assignment = [0] * n
    for j in range(1, n + 1):
        assignment[p[j] - 1] = j - 1
    return assignment


def maximum_weight_matching(logits: torch.Tensor) -> torch.Tensor:
    """The perfect matching of maximum total ``logits`` (Hungarian algorithm).

    :param logits: an ``(N, N)`` tensor of edge weights.
    :returns: a long tensor ``v`` of shape ``(N,)``, source ``s`` matched to ``v[s]``.
    """
    cost = (-logits.detach().double()).cpu().tolist()
    return torch.tensor(_hungarian(cost), dtype=torch.long, device=logits.device)


def _popcount(masks: torch.Tensor) -> torch.Tensor:
    count = torch.zeros_like(masks)
    m = masks.clone()
    while bool((m > 0).any()):
        count += m & 1
        m >>= 1
    return count


def _suffix_log_partition(logits: torch.Tensor) -> torch.Tensor:
    """``f[mask]``: the log of the sum of ``exp`` total logits over the ways to match the
    sources ``popcount(mask), ..., N - 1`` to the destinations not in ``mask`` (a dynamic
    program over subsets, O(2^N N)); ``f[0]`` is the log permanent."""
    n = logits.size(-1)
    size = 1 << n
    masks = torch.arange(size, device=logits.device)
    rows = _popcount(masks)
    f = torch.full((size,), -math.inf, dtype=logits.dtype, device=logits.device)
    f[size - 1] = 0.0
    for count in range(n - 1, -1, -1):
        level = masks[rows == count]
        terms = []
        for j in range(n):
            free = (level >> j) & 1 == 0
            nxt = level | (1 << j)
            term = logits[count, j] + f[nxt]
            terms.append(torch.where(free, term, torch.full_like(term, -math.inf)))
        f = f.index_put((level,), torch.logsumexp(torch.stack(terms), 0))
    return f


def _bethe_log_permanent(logits: torch.Tensor, iters: int) -> torch.Tensor:
    r"""Bethe approximation of the log permanent of ``exp(logits)`` [3]: minimize
    :math:`F(\gamma) = \sum\gamma(\log\gamma - \ell) - \sum(1 - \gamma)\log(1 - \gamma)`
    over doubly stochastic :math:`\gamma` by the fixed point
    :math:`\gamma(1 - \gamma) \propto e^\ell u v^\top` (alternating row/column
    normalizations of :math:`e^\ell / (1 - \gamma)`); returns :math:`-F(\gamma)`."""
    n = logits.size(-1)
    tiny = torch.finfo(logits.dtype).tiny
    gamma = torch.full_like(logits, 1.0 / n)
    for _ in range(iters):
        log_m = logits - torch.log1p(-gamma.clamp(max=1 - 1e-12))
        for _ in range(10):  # Sinkhorn sweeps
            log_m = log_m - torch.logsumexp(log_m, -1, keepdim=True)
            log_m = log_m - torch.logsumexp(log_m, -2, keepdim=True)
        gamma = log_m.exp()
    g = gamma.clamp(tiny, 1 - 1e-12)
    free_energy = (g * (g.log() - logits)).sum() - ((1 - g) * torch.log1p(-g)).sum()
    return -free_energy


class _MatchingDistribution(TorchDistribution):
    """The constructor shared by the matching distributions: edge ``logits`` of shape
    ``(sources_per_destin * N, N)`` and the optional ``bp_iters``; batch shape ``()``, event
    shape ``(num_sources,)``."""

    arg_constraints = {"logits": constraints.real}
    has_enumerate_support = True
    #: how many sources each destination takes
    _sources_per_destin = 1
    logits: torch.Tensor
    bp_iters: int | None

    def __init__(self, logits: torch.Tensor, *, bp_iters: int | None = None,
                 validate_args: bool | None = None) -> None:
        per = self._sources_per_destin
        if logits.dim() != 2 or logits.size(0) != per * logits.size(1):
            rows = "N" if per == 1 else f"{per}N"
            raise ValueError(f"{type(self).__name__}: logits must have shape ({rows}, N), got "
                             f"{tuple(logits.shape)}")
        self.logits = logits
        self.bp_iters = bp_iters
        super().__init__(torch.Size(), torch.Size((logits.size(0),)),
                         validate_args=validate_args)


class OneOneMatching(_MatchingDistribution):
    r"""Random perfect matching of ``N`` sources to ``N`` destinations, each source
    matched to exactly one destination and vice versa.

    A sample is a long tensor ``v`` of shape ``(N,)`` (source ``s`` matched to ``v[s]``),
    with :math:`\log p(v) = \sum_s \mathrm{logits}[s, v[s]] - \log Z`, :math:`Z` the
    permanent of ``exp(logits)``.

    With ``bp_iters=None`` everything is exact: :math:`\log Z` and :meth:`sample` by a
    dynamic program over subsets of destinations (time and memory :math:`O(2^N N)`),
    :meth:`mode` by the Hungarian algorithm. With ``bp_iters`` the log partition function
    (hence :meth:`log_prob`) uses the Bethe approximation [1-4], computed by
    ``bp_iters`` fixed-point iterations; sampling stays exact.

    :param logits: ``(N, N)`` tensor of edge logits.
    :param int bp_iters: optional number of Bethe iterations.
    :raises ValueError: if ``logits`` is not square.

    **References**

    [1] M. Chertkov, L. Kroc, M. Vergassola (2008), *Belief propagation and beyond for
    particle tracking*, arXiv:0806.1199.

    [2] B. Huang, T. Jebara (2009), *Approximating the permanent with belief propagation*,
    arXiv:0908.1769.

    [3] P.O. Vontobel (2013), *The Bethe permanent of a nonnegative matrix*, IEEE Trans.
    Information Theory.

    [4] M. Chertkov, A.B. Yedidia (2013), *Approximating the permanent with fractional
    belief propagation*, JMLR 14.
    """

    @constraints.dependent_property
    def support(self):
        return OneOneMatchingConstraint(self.logits.size(0))

    @property
    def log_partition_function(self) -> torch.Tensor:
        """:math:`\\log Z`, exact or Bethe-approximated (``bp_iters``)."""
        if self.bp_iters is not None:
            return _bethe_log_permanent(self.logits, self.bp_iters)
        return _suffix_log_partition(self.logits)[0]

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n = self.logits.size(0)
        scores = self.logits[torch.arange(n, device=value.device), value].sum(-1)
        return scores - self.log_partition_function

    def enumerate_support(self, expand: bool = True):
        n = self.logits.size(0)
        return torch.tensor(list(itertools.permutations(range(n))), dtype=torch.long,
                            device=self.logits.device).reshape(-1, n)

    def sample(self, sample_shape=torch.Size()):
        """Exact samples: each source in turn picks a free destination with probability
        proportional to ``exp(logit) * Z(rest)``."""
        with torch.no_grad():
            shape = torch.Size(sample_shape)
            n = self.logits.size(0)
            f = _suffix_log_partition(self.logits)
            mask = torch.zeros(shape, dtype=torch.long, device=self.logits.device)
            result = []
            for i in range(n):
                nxt = mask.unsqueeze(-1) | (1 << torch.arange(n, device=mask.device))
                free = (mask.unsqueeze(-1) >> torch.arange(n, device=mask.device)) & 1 == 0
                logp = self.logits[i] + f[nxt]
                logp = torch.where(free, logp, torch.full_like(logp, -math.inf))
                choice = torch.distributions.Categorical(logits=logp).sample()
                result.append(choice)
                mask = mask | (1 << choice)
            return torch.stack(result, -1)

    # a method in Pyro (a property in torch)
    def mode(self) -> torch.Tensor:  # type: ignore[override]
        """The most probable matching (maximum weight, Hungarian algorithm)."""
        return maximum_weight_matching(self.logits)
