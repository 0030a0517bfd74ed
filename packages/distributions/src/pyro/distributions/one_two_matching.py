"""Random matchings of 2N sources to N destinations, two sources per destination."""
from __future__ import annotations

import math

import torch

from . import constraints
from .one_one_matching import (
    OneOneMatching,
    _bethe_log_permanent,
    _hungarian,
    _MatchingDistribution,
    _suffix_log_partition,
)

__all__ = [
    "OneTwoMatching",
    "OneTwoMatchingConstraint",
    "enumerate_one_two_matchings",
    "maximum_weight_matching",
]


class OneTwoMatchingConstraint(constraints.Constraint):
    """Long vectors of length ``2 * num_destins`` with values in ``0..num_destins-1``, each
    value appearing exactly twice."""

    is_discrete = True
    event_dim = 1

    def __init__(self, num_destins: int) -> None:
        self.num_destins = num_destins
        super().__init__()

    def check(self, value):
        n = self.num_destins
        if value.size(-1) != 2 * n:
            return torch.zeros(value.shape[:-1], dtype=torch.bool, device=value.device)
        in_range = ((value >= 0) & (value < n)).all(-1)
        counts = (value.unsqueeze(-1) == torch.arange(n, device=value.device)).sum(-2)
        return in_range & (counts == 2).all(-1)


def _duplicated(logits: torch.Tensor) -> torch.Tensor:
    """``[logits, logits]``: two slots per destination. The one-two matchings are the
    perfect matchings onto slots up to swapping each destination's two sources, so
    :math:`Z_{12} = \\mathrm{perm}(e^{[\\ell, \\ell]}) / 2^N`."""
    return torch.cat([logits, logits], -1)


def enumerate_one_two_matchings(num_destins: int) -> torch.Tensor:
    """Every one-two matching of ``2 * num_destins`` sources, as a long tensor of shape
    ``(count, 2 * num_destins)``, ``count = (2N)! / 2^N``."""
    n = num_destins
    results = []

    def fill(value, source):
        if source == 2 * n:
            results.append(list(value))
            return
        for destin in range(n):
            if value.count(destin) < 2:
                value.append(destin)
                fill(value, source + 1)
                value.pop()

    fill([], 0)
    return torch.tensor(results, dtype=torch.long).reshape(-1, 2 * n)


def maximum_weight_matching(logits: torch.Tensor) -> torch.Tensor:
    """The one-two matching of maximum total ``logits`` (Hungarian algorithm on two
    slots per destination).

    :param logits: a ``(2N, N)`` tensor.
    :returns: a long tensor of shape ``(2N,)``.
    """
    n = logits.size(-1)
    cost = (-_duplicated(logits.detach().double())).cpu().tolist()
    slots = torch.tensor(_hungarian(cost), dtype=torch.long, device=logits.device)
    return slots % n


class OneTwoMatching(_MatchingDistribution):
    r"""Random matching of ``2N`` sources to ``N`` destinations, each source matched to
    exactly one destination and each destination to exactly two sources.

    A sample is a long tensor ``v`` of shape ``(2N,)`` with values in ``0..N-1``, and
    :math:`\log p(v) = \sum_s \mathrm{logits}[s, v[s]] - \log Z`. The computations reduce
    to :class:`~pyro.distributions.OneOneMatching` with two slots per destination
    (:math:`Z = \mathrm{perm}(e^{[\ell, \ell]}) / 2^N`): exact with ``bp_iters=None``
    (:math:`O(4^N N)`), Bethe-approximated [1-4] otherwise; sampling is exact.

    :param logits: ``(2N, N)`` tensor of edge logits.
    :param int bp_iters: optional number of Bethe iterations.
    :raises ValueError: if ``logits`` is not of shape ``(2N, N)``.

    **References**

    [1] M. Chertkov, L. Kroc, M. Vergassola (2008), arXiv:0806.1199.

    [2] B. Huang, T. Jebara (2009), arXiv:0908.1769.

    [3] P.O. Vontobel (2013), *The Bethe permanent of a nonnegative matrix*.

    [4] M. Chertkov, A.B. Yedidia (2013), JMLR 14.
    """

    _sources_per_destin = 2

    @constraints.dependent_property
    def support(self):
        return OneTwoMatchingConstraint(self.logits.size(1))

    @property
    def log_partition_function(self) -> torch.Tensor:
        """:math:`\\log Z`, exact or Bethe-approximated (``bp_iters``)."""
        n = self.logits.size(1)
        dup = _duplicated(self.logits)
        if self.bp_iters is not None:
            log_perm = _bethe_log_permanent(dup, self.bp_iters)
        else:
            log_perm = _suffix_log_partition(dup)[0]
        return log_perm - n * math.log(2)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rows = torch.arange(self.logits.size(0), device=value.device)
        return self.logits[rows, value].sum(-1) - self.log_partition_function

    def enumerate_support(self, expand: bool = True):
        return enumerate_one_two_matchings(self.logits.size(1)).to(self.logits.device)

    def sample(self, sample_shape=torch.Size()):
        """Exact samples: a uniformly labelled slot matching, folded onto destinations."""
        with torch.no_grad():
            slots = OneOneMatching(_duplicated(self.logits)).sample(sample_shape)
            return slots % self.logits.size(1)

    # a method in Pyro (a property in torch)
    def mode(self) -> torch.Tensor:  # type: ignore[override]
        """The most probable matching (maximum weight)."""
        return maximum_weight_matching(self.logits)


