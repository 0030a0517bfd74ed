"""Kingman's coalescent: distributions of coalescent times given leaf (sampling) times."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import constraints
from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = [
    "CoalescentRateLikelihood",
    "CoalescentTimes",
    "CoalescentTimesConstraint",
    "CoalescentTimesWithRate",
    "bio_phylo_to_times",
]


def _events(leaf_times: torch.Tensor, coal_times: torch.Tensor):
    """Merge leaves (+1 lineage) and coalescences (-1) backward in time.

    :returns: ``(times, is_coal, lineages)`` sorted by decreasing time (a leaf before a
        coalescence at the same time), with ``lineages`` the number of lineages alive just
        *after* each event (going backward), all of shape ``batch + (2n - 1,)``.
    """
    shape = broadcast_shape(leaf_times.shape[:-1], coal_times.shape[:-1])
    leaf = leaf_times.expand(shape + leaf_times.shape[-1:])
    coal = coal_times.expand(shape + coal_times.shape[-1:])
    times = torch.cat([leaf, coal], -1)
    signs = torch.cat([torch.ones_like(leaf), -torch.ones_like(coal)], -1)
    times, order = torch.sort(times, dim=-1, descending=True, stable=True)
    signs = signs.gather(-1, order)
    return times, signs < 0, signs.cumsum(-1)


def _pairs(k: torch.Tensor) -> torch.Tensor:
    """``k choose 2``."""
    return k * (k - 1) / 2


class CoalescentTimesConstraint(constraints.Constraint):
    """Sets of coalescent times consistent with ``leaf_times``: going backward in time,
    every coalescence finds at least two lineages (and, with ``ordered``, the times are
    sorted increasingly).

    :param leaf_times: the sampling times, shape ``batch + (n,)``.
    :param bool ordered: also require the times to be sorted.
    """

    event_dim = 1

    def __init__(self, leaf_times: torch.Tensor, *, ordered: bool = True) -> None:
        self.leaf_times = leaf_times
        self.ordered = ordered
        super().__init__()

    def check(self, value):
        _, is_coal, lineages = _events(self.leaf_times, value)
        before = lineages + is_coal.to(lineages.dtype)  # lineages just before each event
        ok = torch.where(is_coal, before >= 2, torch.ones_like(is_coal)).all(-1)
        if self.ordered and value.size(-1) > 1:
            ok = ok & (value[..., 1:] >= value[..., :-1]).all(-1)
        return ok


class CoalescentTimes(TorchDistribution):
    r"""Distribution over sorted coalescent times given irregularly sampled ``leaf_times``
    and a constant population size (Kingman's coalescent [1, 2]).

    A value holds the ``leaf_times.size(-1) - 1`` coalescence times of a complete binary
    phylogeny, sorted increasingly. Backward in time, :math:`k` lineages coalesce at rate
    :math:`\lambda\binom{k}{2}`; the density of the times (as a set) is

    .. math:: \prod_{\text{coalescences}}\lambda\binom{k}{2}\;
        \exp\Big(-\lambda\int\binom{k(t)}{2}dt\Big).

    Batched over phylogenies (e.g. posterior samples from BEAST or MrBayes) with fixed
    leaf times.

    :param leaf_times: sampling times (leaves), any order, duplicates allowed; shape
        ``batch + (n,)``.
    :param rate: pairwise coalescence rate :math:`\lambda > 0` (default 1).

    **References**

    [1] J.F.C. Kingman (1982), *On the genealogy of large populations*, J. Applied
    Probability.

    [2] J.F.C. Kingman (1982), *The coalescent*, Stochastic Processes and their
    Applications.
    """

    arg_constraints = {"leaf_times": constraints.real, "rate": constraints.positive}

    def __init__(self, leaf_times, rate=1.0, *, validate_args=None) -> None:
        rate = torch.as_tensor(rate, dtype=leaf_times.dtype, device=leaf_times.device)
        batch_shape = broadcast_shape(rate.shape, leaf_times.shape[:-1])
        self.leaf_times = leaf_times
        self.rate = rate
        event_shape = torch.Size((leaf_times.size(-1) - 1,))
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @constraints.dependent_property
    def support(self):
        return CoalescentTimesConstraint(self.leaf_times)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        times, is_coal, lineages = _events(self.leaf_times, value)
        rate = self.rate.unsqueeze(-1)
        before = lineages + is_coal.to(lineages.dtype)
        log_events = torch.where(is_coal, torch.log(rate * _pairs(before)),
                                 torch.zeros_like(times)).sum(-1)
        gaps = times[..., :-1] - times[..., 1:]
        exposure = (_pairs(lineages[..., :-1]) * gaps).sum(-1)
        return log_events - self.rate * exposure

    def sample(self, sample_shape=torch.Size()):
        r"""Simulate the coalescent backward in time from the latest leaf: each of the
        ``2n - 2`` steps either adds the next leaf's lineage or coalesces two lineages after
        an exponential wait of rate :math:`\\lambda\binom{k}{2}`, whichever comes first."""
        with torch.no_grad():
            shape = torch.Size(sample_shape) + self.batch_shape
            leaves = torch.sort(self.leaf_times, -1, descending=True).values
            leaves = leaves.expand(shape + leaves.shape[-1:])
            rate = self.rate.expand(shape)
            n = leaves.size(-1)
            t = leaves[..., 0].clone()
            k = torch.ones_like(t)
            next_leaf = torch.ones(shape, dtype=torch.long, device=t.device)
            coal = []
            for _ in range(2 * n - 2):
                has_leaf = next_leaf < n
                leaf_t = leaves.gather(-1, next_leaf.clamp(max=n - 1).unsqueeze(-1)).squeeze(-1)
                leaf_t = torch.where(has_leaf, leaf_t, torch.full_like(t, -math.inf))
                hazard = (rate * _pairs(k)).clamp(min=torch.finfo(t.dtype).tiny)
                wait = torch.empty_like(t).exponential_() / hazard
                coalesce = (k >= 2) & (t - wait > leaf_t)
                t = torch.where(coalesce, t - wait, leaf_t)
                k = torch.where(coalesce, k - 1, k + 1)
                next_leaf = next_leaf + (~coalesce).long()
                coal.append(torch.where(coalesce, t, torch.full_like(t, math.nan)))
            values = torch.sort(torch.stack(coal, -1), -1).values  # NaNs sort last
            return values[..., : n - 1]


class CoalescentTimesWithRate(TorchDistribution):
    r"""Distribution over sorted coalescent times given irregularly sampled ``leaf_times``
    and a pairwise coalescence rate that is piecewise constant on the unit grid: rate
    ``rate_grid[..., 0]`` on :math:`(-\infty, 1]`, ``rate_grid[..., j]`` on
    :math:`[j, j+1]`, ``rate_grid[..., T-1]`` on :math:`[T-1, \infty)` [1, 2, 3]. Leaves
    are usually sampled in :math:`[0, T]`. Only :meth:`log_prob` is implemented (as in
    Pyro); see :class:`CoalescentRateLikelihood` for the same likelihood split over time
    steps.

    :param leaf_times: sampling times, shape ``batch + (n,)``.
    :param rate_grid: positive rates, shape ``batch + (T,)``.

    **References**

    [1] J.F.C. Kingman (1982), *On the genealogy of large populations*.

    [2] J.F.C. Kingman (1982), *The coalescent*.

    [3] A. Popinga, T. Vaughan, T. Statler, A.J. Drummond (2014), *Inferring
    epidemiological dynamics with Bayesian coalescent inference: the merits of
    deterministic and stochastic models*, arXiv:1407.1792.
    """

    arg_constraints = {"leaf_times": constraints.real,
                       "rate_grid": constraints.independent(constraints.positive, 1)}

    def __init__(self, leaf_times, rate_grid, *, validate_args=None) -> None:
        batch_shape = broadcast_shape(leaf_times.shape[:-1], rate_grid.shape[:-1])
        self.leaf_times = leaf_times
        self.rate_grid = rate_grid
        event_shape = torch.Size((leaf_times.size(-1) - 1,))
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @constraints.dependent_property
    def support(self):
        return CoalescentTimesConstraint(self.leaf_times)

    @property
    def duration(self) -> int:
        return self.rate_grid.size(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        likelihood = CoalescentRateLikelihood(self.leaf_times, value, self.duration)
        return likelihood(self.rate_grid).sum(-1)


class CoalescentRateLikelihood:
    """EXPERIMENTAL: the likelihood of :class:`CoalescentTimesWithRate` split over the time
    steps of the rate grid, so that the rates of different steps enter independent terms
    (compatible with ``pyro.plate`` and ``pyro.markov``). For unbatched inputs these agree::

        pyro.sample("coalescent", CoalescentTimesWithRate(leaf_times, rate_grid),
                    obs=coal_times)

        likelihood = CoalescentRateLikelihood(leaf_times, coal_times, len(rate_grid))
        with pyro.plate("time", len(rate_grid)):
            pyro.factor("coalescent", likelihood(rate_grid))

        for t in pyro.markov(range(len(rate_grid))):
            pyro.factor(f"coalescent_{t}", likelihood(rate_grid[t], t))

    Everything that does not depend on the rates (lineage counts, exposures per step) is
    computed once here; each call is then linear in the grid [1, eqs. 7-9].

    :param leaf_times: sampling times, shape ``batch + (n,)``.
    :param coal_times: sorted coalescence times, shape ``batch + (n - 1,)``.
    :param int duration: ``T``, the size of the rate grid.
    :raises ValueError: if ``coal_times`` does not have ``n - 1`` entries.

    **References**

    [1] A. Popinga, T. Vaughan, T. Statler, A.J. Drummond (2014), arXiv:1407.1792.
    """

    def __init__(self, leaf_times: torch.Tensor, coal_times: torch.Tensor,
                 duration: int, *, validate_args=None) -> None:
        if coal_times.size(-1) != leaf_times.size(-1) - 1:
            raise ValueError(f"CoalescentRateLikelihood: {leaf_times.size(-1)} leaves need "
                             f"{leaf_times.size(-1) - 1} coalescent times, got "
                             f"{coal_times.size(-1)}")
        if validate_args or (validate_args is None and
                             torch.distributions.Distribution._validate_args):
            if not bool(CoalescentTimesConstraint(leaf_times).check(coal_times).all()):
                raise ValueError("CoalescentRateLikelihood: coal_times are not sorted or not "
                                 "consistent with leaf_times")
        self.duration = duration
        times, is_coal, lineages = _events(leaf_times, coal_times)
        dtype = times.dtype
        cells = torch.arange(duration, dtype=dtype, device=times.device)
        # the grid cell of each coalescence; counts and log C(k, 2) per cell
        before = lineages + is_coal.to(dtype)
        cell = _cell_of(times, duration)
        onehot = (cell.unsqueeze(-1) == cells.long()) & is_coal.unsqueeze(-1)
        self._num_coal = onehot.to(dtype).sum(-2)
        log_pairs = torch.where(is_coal, _pairs(before).clamp(min=1e-300).log(),
                                torch.zeros_like(times))
        self._log_pairs = (onehot.to(dtype) * log_pairs.unsqueeze(-1)).sum(-2)
        # exposure: sum over inter-event intervals of C(k, 2) x overlap with each cell
        lo = torch.where(cells == 0, torch.full_like(cells, -math.inf), cells)
        hi = torch.where(cells == duration - 1, torch.full_like(cells, math.inf), cells + 1)
        a = times[..., 1:].unsqueeze(-1)
        b = times[..., :-1].unsqueeze(-1)
        overlap = (torch.minimum(b, hi) - torch.maximum(a, lo)).clamp(min=0)
        self._exposure = (_pairs(lineages[..., :-1]).unsqueeze(-1) * overlap).sum(-2)

    def __call__(self, rate_grid: torch.Tensor, t=slice(None)) -> torch.Tensor:
        """The log likelihood terms of the time steps ``t`` (all by default).

        :param rate_grid: rates of those steps (``rate_grid[..., t]`` of the full grid).
        :param t: an ``int`` step or a ``slice`` (default all).
        :returns: the terms, one per step in ``t`` (summing to
            ``CoalescentTimesWithRate(...).log_prob`` over all steps).
        """
        num_coal = self._num_coal[..., t]
        log_pairs = self._log_pairs[..., t]
        exposure = self._exposure[..., t]
        log_rate = torch.where(num_coal > 0, rate_grid.log() * num_coal,
                               torch.zeros_like(rate_grid * num_coal))
        return log_rate + log_pairs - rate_grid * exposure


def _cell_of(times: torch.Tensor, duration: int) -> torch.Tensor:
    """The grid cell holding each time: ``floor(t)`` clamped to ``[0, T - 1]``."""
    return times.floor().clamp(0, duration - 1).long()


def bio_phylo_to_times(tree, get_time: Callable | None = None):
    """Coalescent summary statistics of a phylogeny, for
    :class:`CoalescentRateLikelihood`.

    :param tree: a ``Bio.Phylo.BaseTree.Clade`` (or any object with ``.clades`` and
        ``.branch_length``).
    :param callable get_time: the time of each clade; by default the cumulative
        ``branch_length`` from the root.
    :returns: ``(leaf_times, coal_times)``: the times of the leaves and of the
        coalescences (a node with ``c`` children counts ``c - 1`` binary coalescences),
        coalescences sorted.
    """
    leaf_times, coal_times = [], []
    stack = [(tree, 0.0)]
    while stack:
        clade, parent_time = stack.pop()
        if get_time is not None:
            time = float(get_time(clade))
        else:
            time = parent_time + float(getattr(clade, "branch_length", None) or 0.0)
        children = list(getattr(clade, "clades", []))
        if children:
            coal_times.extend([time] * (len(children) - 1))
            stack.extend((child, time) for child in children)
        else:
            leaf_times.append(time)
    leaf = torch.tensor(leaf_times, dtype=torch.get_default_dtype())
    coal = torch.tensor(sorted(coal_times), dtype=torch.get_default_dtype())
    return leaf, coal
