"""Helpers shared by the ELBOs and the other inference algorithms.

Everything here runs per SVI step (some of it per site), so each helper does nothing when
there is nothing to do: no tensor is made for a Python zero, no sync is forced.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import torch

from pyro.ops import packed
from pyro.ops.contract import contract_to_tensor
from pyro.poutine.util import site_is_subsample
from pyro.primitive_distributions.util import is_identically_one, is_identically_zero
from pyro.util import enable_validation, is_validation_enabled, validation_enabled

__all__ = [
    "CloneMixin",
    "Dice",
    "MultiFrameTensor",
    "check_fully_reparametrized",
    "compute_site_dice_factor",
    "enable_validation",
    "get_dependent_plate_dims",
    "get_plate_stacks",
    "is_identically_one",
    "is_identically_zero",
    "is_validation_enabled",
    "plate_frames",
    "plate_log_prob_sum",
    "plate_nesting",
    "site_is_subsample",
    "torch_backward",
    "torch_exp",
    "torch_item",
    "torch_sum",
    "validation_enabled",
    "zero_grads",
]


def torch_item(x: Any) -> Any:
    """``x.item()`` for a tensor, ``x`` itself for a Python number."""
    return x.item() if isinstance(x, torch.Tensor) else x


def torch_exp(x: Any) -> Any:
    """``exp`` for tensors and Python numbers alike."""
    return x.exp() if isinstance(x, torch.Tensor) else math.exp(x)


def torch_backward(x: Any, retain_graph: bool | None = None) -> None:
    """``x.backward()`` when ``x`` is a tensor that requires grad; nothing otherwise (a
    loss with no parameters in it)."""
    if isinstance(x, torch.Tensor) and x.requires_grad:
        x.backward(retain_graph=retain_graph)


def zero_grads(tensors: Iterable[torch.Tensor]) -> None:
    """Reset the ``.grad`` of each tensor (to ``None``: the next backward allocates it)."""
    for p in tensors:
        p.grad = None


def torch_sum(tensor: torch.Tensor, dims: Iterable[int]) -> torch.Tensor:
    """Like :func:`torch.sum` over ``dims``, but sums only the dims that ``tensor`` has
    (a negative dim left of its leftmost dim is skipped), and returns ``tensor`` itself
    when none is left. The summed dims are dropped."""
    dims = tuple(d for d in dims if -tensor.dim() <= d < tensor.dim())
    return tensor.sum(dims) if dims else tensor


def get_dependent_plate_dims(sites: Iterable[dict[str, Any]]) -> list[int]:
    """The sorted dims of the vectorized plates that enclose some but not all of
    ``sites`` (the plate dims a cost over all these sites must sum out)."""
    plate_sets = [{f.dim for f in plate_frames(site)} for site in sites]
    if not plate_sets:
        return []
    return sorted(set.union(*plate_sets) - set.intersection(*plate_sets))


def plate_log_prob_sum(trace, plate_symbol: str) -> torch.Tensor:
    """The sum of the (scaled, masked) log-densities of ``trace``'s sample sites, keeping
    the dim of one plate: a vector over that plate.

    :param trace: a :class:`~pyro.poutine.trace_struct.Trace` after ``compute_log_prob``
        and ``pack_tensors`` (``site["packed"]["log_prob"]`` is read).
    :param str plate_symbol: the plate's symbol, ``trace.plate_to_symbol[plate_name]``.
    :returns: a tensor of shape ``(plate size,)``; sites outside the plate add their
        total to every element.
    :raises ValueError: naming the site, when a site has not been packed.
    """
    total: torch.Tensor | float = 0.0
    for name, site in trace.nodes.items():
        if site["type"] != "sample" or site_is_subsample(site):
            continue
        log_prob = site.get("packed", {}).get("log_prob")
        if log_prob is None:
            raise ValueError(
                f"plate_log_prob_sum: site {name!r} has no packed log_prob; call "
                f"trace.compute_log_prob() and trace.pack_tensors() first")
        if not isinstance(log_prob, torch.Tensor):
            total = total + log_prob
            continue
        dims = packed.dims_of(log_prob)
        if plate_symbol in dims:
            keep = dims.index(plate_symbol)
            others = tuple(i for i in range(log_prob.dim()) if i != keep)
            term = log_prob.sum(others) if others else log_prob
        else:
            term = log_prob.sum()
        total = total + term
    return torch.as_tensor(total)


class CloneMixin:
    """Mixin that adds a ``.clone()`` method to ``@dataclasses.dataclass`` classes made
    of ``torch.Tensor`` fields: a new instance whose tensor fields are
    :meth:`torch.Tensor.clone` copies (other fields are shared)."""

    def clone(self):
        if not dataclasses.is_dataclass(self):
            raise TypeError(f"CloneMixin.clone needs a dataclass, got {type(self).__name__}")
        values = {
            f.name: (v.clone() if isinstance(v, torch.Tensor) else v)
            for f in dataclasses.fields(self)
            for v in [getattr(self, f.name)]
        }
        return type(self)(**values)


def compute_site_dice_factor(site: dict[str, Any]) -> tuple[Any, float]:
    """The DiCE factor of one guide sample site, as ``(log_factor, log_denom)``.

    ``log_factor`` is a packed tensor (or ``0`` for a reparameterized site) whose
    exponential weights the costs that depend on the site:

    - a Monte Carlo sample: ``log q(z) - stop_grad(log q(z))`` (value 0, the score
      function as gradient) [1];
    - a parallel-enumerated site: ``log q(z)`` over the enumeration dim (the exact
      probabilities, so the expectation is a weighted sum);
    - a locally multiply-sampled site (``infer={"enumerate": "parallel",
      "num_samples": n}``): ``log q(z) - stop_grad(log q(z)) - log n`` (the sample mean).

    ``log_denom`` is ``log(infer["_enum_total"])`` for a sequentially enumerated site
    whose traces are averaged (``0`` otherwise).

    The score function is read from ``site["packed"]["score_parts"]`` when the trace was
    packed, else from the site's (unpacked) score parts.

    **References**

    [1] J. Foerster et al., "DiCE: The Infinitely Differentiable Monte-Carlo Estimator",
        ICML 2018.
    """
    parts = site.get("packed", {}).get("score_parts")
    if parts is None:
        from pyro.poutine.trace_struct import site_score_parts

        parts = site_score_parts(site)
    log_prob = parts.score_function
    infer = site["infer"]
    enumerate_ = infer.get("enumerate")
    num_samples = infer.get("num_samples")
    log_denom = 0.0
    if enumerate_ and num_samples is not None:
        log_prob = _magic_log(log_prob) - math.log(num_samples)
    elif enumerate_ == "sequential":
        log_denom = math.log(infer.get("_enum_total", 1))
    elif not enumerate_:
        log_prob = _magic_log(log_prob)
    return log_prob, log_denom


def _magic_log(log_prob: Any) -> Any:
    """``log_prob - stop_grad(log_prob)``, keeping its packed dims (0 stays 0)."""
    if is_identically_zero(log_prob) or not isinstance(log_prob, torch.Tensor):
        return 0.0
    result = log_prob - log_prob.detach()
    dims = getattr(log_prob, "_pyro_dims", None)
    return result if dims is None else packed.labelled(result, dims)


class Dice:
    """The DiCE operator [1] for Pyro guide traces: turns costs into a differentiable
    expectation whose gradient (of any order) is the score-function estimator, exact
    over enumerated sites [2].

    Each guide sample site gets a factor (:func:`compute_site_dice_factor`); a cost at
    ordinal ``o`` is weighted by the product of the factors of the guide sites whose
    ordinal is ``<= o`` (the sites it may depend on), contracted over the enumeration
    dims the cost does not keep and multiplied over the plates it is not in. This handles
    scaling by subsampling (in the costs), independence across plates, parallel and
    sequential enumeration and local multiple sampling. Variables outside a plate must
    not depend on variables inside it.

    :param guide_trace: a guide :class:`~pyro.poutine.trace_struct.Trace`; packed with
        ``compute_score_parts()`` and ``pack_tensors()`` here if it is not already (then
        its plate symbols are the ones the costs must use).
    :param dict ordering: maps each site name to its ordinal: any hashable value
        comparable with ``<=``, canonically a frozenset of plate frames or names.
    :raises KeyError: naming a guide site that ``ordering`` lacks.

    **References**

    [1] J. Foerster, G. Farquhar, M. Al-Shedivat, T. Rocktaeschel, E. P. Xing,
        S. Whiteson, "DiCE: The Infinitely Differentiable Monte-Carlo Estimator", ICML 2018.
    [2] L. Aitchison, "Tensor Monte Carlo: particle methods for the GPU era", 2018.
    """

    def __init__(self, guide_trace, ordering: dict[str, Any]) -> None:
        sites = [
            site for site in guide_trace.nodes.values()
            if site["type"] == "sample" and not site["is_observed"]
            and not site_is_subsample(site)
        ]
        if any("score_parts" not in site.get("packed", {}) for site in sites):
            guide_trace.compute_score_parts()
            guide_trace.pack_tensors(getattr(guide_trace, "plate_to_symbol", None))
        self.plate_symbols = frozenset(getattr(guide_trace, "plate_to_symbol", {}).values())
        self.log_factors: dict[Any, list] = {}
        self.log_denom: dict[Any, float] = {}
        for site in sites:
            name = site["name"]
            if name not in ordering:
                raise KeyError(f"Dice: guide site {name!r} has no ordinal in `ordering`")
            ordinal = ordering[name]
            log_factor, log_denom = compute_site_dice_factor(site)
            if not is_identically_zero(log_factor):
                plates = frozenset(site["infer"].get("_dim_to_symbol", {}).values())
                entry = (plates & self.plate_symbols, log_factor)
                self.log_factors.setdefault(ordinal, []).append(entry)
            if log_denom:
                self.log_denom[ordinal] = self.log_denom.get(ordinal, 0.0) + log_denom

    def _get_log_factors(self, target_ordinal: Any) -> list:
        """The ``(plate symbols, log factor)`` pairs of the sites at ordinals
        ``<= target_ordinal``."""
        return [
            entry for ordinal, entries in self.log_factors.items()
            if ordinal <= target_ordinal for entry in entries
        ]

    def compute_expectation(self, costs: dict[Any, list]) -> Any:
        """A differentiable expected cost: the sum over ordinals of each cost tensor
        (packed, labelled by ``_pyro_dims``; an unlabelled tensor must be 0-dim or have
        no dims the factors use) weighted by its DiCE factor, then summed.

        :param dict costs: maps ordinals to lists of cost tensors (or numbers).
        :returns: a scalar expected cost (a float when every cost is a number).
        """
        expected = 0.0
        for ordinal, cost_terms in costs.items():
            entries = self._get_log_factors(ordinal)
            log_denom = sum(v for o, v in self.log_denom.items() if o <= ordinal)
            for cost in cost_terms:
                weighted = cost
                if entries and isinstance(cost, torch.Tensor):
                    weighted = packed.mul(self._probability(entries, cost), cost)
                elif entries:
                    weighted = self._probability(entries, None) * cost
                if isinstance(weighted, torch.Tensor):
                    weighted = weighted.sum()
                expected = expected + weighted * math.exp(-log_denom)
        return expected

    def _probability(self, entries: list, cost: torch.Tensor | None) -> torch.Tensor:
        """The DiCE weight of a cost: the factors contracted to the cost's dims."""
        cost_dims = set(packed.dims_of(cost)) if cost is not None else set()
        tree: dict[frozenset[str], list] = {}
        all_dims: set = set()
        for plates, log_factor in entries:
            tree.setdefault(plates, []).append(log_factor)
            all_dims |= set(packed.dims_of(log_factor))
        variables = all_dims - self.plate_symbols
        log_prob = contract_to_tensor(
            tree, variables - cost_dims,
            target_ordinal=cost_dims & self.plate_symbols,
            target_dims=variables & cost_dims,
        )
        return packed.exp(log_prob)
def plate_frames(site: dict[str, Any]) -> frozenset[Any]:
    """The vectorized plate frames enclosing ``site`` (its "ordinal")."""
    return frozenset(f for f in site["cond_indep_stack"] if f.vectorized)


def get_plate_stacks(trace) -> dict[str, frozenset[Any]]:
    """Map each sample site name of ``trace`` to the frozenset of vectorized plate frames
    that enclose it."""
    return {
        name: plate_frames(site)
        for name, site in trace.nodes.items()
        if site["type"] == "sample"
    }


def plate_nesting(*traces) -> int:
    """The deepest vectorized plate dim used by a sample site of ``traces`` (0 if none):
    the ``max_plate_nesting`` those traces need."""
    nesting = 0
    for trace in traces:
        for site in trace.nodes.values():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            for frame in site["cond_indep_stack"]:
                if frame.vectorized:
                    nesting = max(nesting, -frame.dim)
    return nesting


def check_fully_reparametrized(guide_site: dict[str, Any]) -> None:
    """Raise a ``ValueError`` naming the site when a guide site cannot be
    reparameterized (for losses that need ``rsample``)."""
    fn = guide_site["fn"]
    if not getattr(fn, "has_rsample", False):
        raise ValueError(
            f"guide site {guide_site['name']!r} ({type(fn).__name__}) is not "
            f"reparameterizable: this loss needs rsample; use Trace_ELBO or TraceGraph_ELBO "
            f"(score-function gradients) or a reparameterizable distribution"
        )


class MultiFrameTensor(dict):
    """A dict ``frozenset(frames) -> tensor`` of log-density terms, each living in the
    plates of its frames, that can be summed down to any set of plates.

    ``sum_to(target_frames)`` adds every term after summing out the plate dims that are
    not in ``target_frames`` (keeping the others, so the result broadcasts against a
    site in those plates). This is the Rao-Blackwellization over plates that the
    score-function terms of the ELBOs use: a site inside plate ``i`` sees the costs of
    the global sites and of its own slice of ``i``, not of the other slices.

    Example::

        log_r = MultiFrameTensor((frames_of(site), site["log_prob"]) for site in sites)
        cost = log_r.sum_to(frames_of(guide_site))
    """

    def __init__(self, *items) -> None:
        super().__init__()
        for frames, value in items:
            self.add((frames, value))

    def add(self, *items) -> None:
        """Add ``(frames, value)`` pairs, summing values that share their frames."""
        for frames, value in items:
            frames = frozenset(frames)
            if frames in self:
                self[frames] = self[frames] + value
            else:
                self[frames] = value

    def sum_to(self, target_frames) -> Any:
        """The sum of all terms, each reduced to the plates in ``target_frames``."""
        target = frozenset(f for f in target_frames if f.vectorized)
        total = None
        for frames, value in self.items():
            if isinstance(value, torch.Tensor) and value.dim():
                extra = frames - target
                if extra:
                    dims = tuple(f.dim for f in extra if -f.dim <= value.dim())
                    if dims:
                        value = value.sum(dims, keepdim=True)
                # Leave only the dims of the target plates (and enumeration dims).
                while value.dim() and value.shape[0] == 1:
                    value = value.squeeze(0)
            total = value if total is None else total + value
        return 0.0 if total is None else total
