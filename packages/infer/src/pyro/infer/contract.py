"""Tensor variable elimination over plates, in the log semiring.

A factor is a pair ``(ordinal, tensor)``: ``ordinal`` is the frozenset of plate frames
(:class:`~pyro.poutine.indep_messenger.CondIndepStackFrame`) the factor lives in, and the
tensor holds log values whose batch dims are plate dims (``frame.dim``) and enumeration
dims (left of every plate). A dim "belongs" to a factor when the tensor has it with size
greater than one.

:func:`contract_tensor_tree` sums out a set of enumeration dims (``sum_dims``) exactly:
``log sum_{z} prod_factors``, where the product over a plate's elements is a sum of logs
along the plate's dim. Each enumeration dim is summed at the deepest set of plates
shared by all of its factors; a result that still depends on an enumeration variable of
an enclosing plate set is first multiplied over (summed along) the plates it leaves.
What remains is a list of log factors, each in a set of plates, which no longer depend
on ``sum_dims``. Factors carry no subsampling scale: the product over a subsampled
plate is scaled by ``full_size / size`` where it is taken (and a caller summing a result
over its remaining plates applies :func:`plate_scale` of them).

**References**

[1] F. Obermeyer, E. Bingham, M. Jankowiak, J. Chiu, N. Pradhan, A. Rush, N. Goodman,
    "Tensor Variable Elimination for Plated Factor Graphs", ICML 2019.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, FrozenSet, Iterable, List, Set, Tuple

import torch

__all__ = ["contract_tensor_tree", "partition_factors", "plate_scale", "tensor_dims"]

Factor = Tuple[FrozenSet, torch.Tensor]


def tensor_dims(tensor: torch.Tensor, candidates: Iterable[int]) -> Set[int]:
    """The dims among ``candidates`` (negative ints) along which ``tensor`` varies."""
    n = tensor.dim()
    return {d for d in candidates if -d <= n and tensor.shape[d] > 1}


def partition_factors(
    factors: List[Factor], sum_dims: Set[int]
) -> List[Tuple[List[Factor], Set[int]]]:
    """Split ``factors`` into connected components: two factors are connected when they
    share a dim of ``sum_dims``. Returns ``[(component_factors, component_dims)]``."""
    parent = list(range(len(factors)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: Dict[int, int] = {}
    dims_of = []
    for i, (_, t) in enumerate(factors):
        dims = tensor_dims(t, sum_dims)
        dims_of.append(dims)
        for d in dims:
            if d in owner:
                ri, rj = find(i), find(owner[d])
                if ri != rj:
                    parent[ri] = rj
            else:
                owner[d] = i
    groups: "OrderedDict[int, Tuple[List[Factor], Set[int]]]" = OrderedDict()
    for i, f in enumerate(factors):
        root = find(i)
        if root not in groups:
            groups[root] = ([], set())
        groups[root][0].append(f)
        groups[root][1].update(dims_of[i])
    return list(groups.values())


def plate_scale(frames: Iterable) -> float:
    """The subsampling scale ``prod(full_size / size)`` of plate frames (1 when none of
    them is subsampled)."""
    s = 1.0
    for f in frames:
        full = getattr(f, "full_size", None)
        if full is not None and f.size and full != f.size:
            s *= full / f.size
    return s


def _sum_plates(term: torch.Tensor, frames: Iterable) -> torch.Tensor:
    """Product over the elements of ``frames`` in the log semiring (a sum along each
    frame's dim, kept as a size-1 dim), scaled by ``full_size / size`` for a subsampled
    plate so that the sum over a minibatch estimates the sum over all elements."""
    frames = [f for f in frames if -f.dim <= term.dim() and term.shape[f.dim] > 1]
    if frames:
        term = term.sum(tuple(f.dim for f in frames), keepdim=True)
        scale = plate_scale(frames)
        if scale != 1.0:
            term = term * scale
    return term


def _ordinal_key(ordinal: FrozenSet) -> Tuple:
    return (-len(ordinal), sorted(f.name for f in ordinal))


def contract_tensor_tree(
    factors: List[Factor],
    sum_dims: Set[int],
    frozen_dims: Dict[int, FrozenSet] = None,
) -> List[Factor]:
    """Sum ``sum_dims`` out of a list of plated log factors (see the module docstring).

    :param factors: ``[(ordinal, log_tensor)]``.
    :param sum_dims: the enumeration dims to sum out.
    :param frozen_dims: other enumeration dims (e.g. of guide variables) that stay in the
        result, mapped to the ordinal of their variable; a result that depends on one of
        them cannot be multiplied over a plate of that variable.
    :returns: ``[(ordinal, log_tensor)]`` with no dim of ``sum_dims`` left.
    :raises ValueError: when the plates do not nest as a tree around an enumerated
        variable (the sum is then not computable by this elimination), naming the plates.
    """
    frozen_dims = frozen_dims or {}
    result: List[Factor] = []
    for component, dims in partition_factors(factors, sum_dims):
        if not dims:
            result.extend(component)
            continue
        result.extend(_contract_component(component, dims, frozen_dims))
    return result


def _contract_component(
    factors: List[Factor], sum_dims: Set[int], frozen_dims: Dict[int, FrozenSet]
) -> List[Factor]:
    # The home of each enumeration dim: the plates shared by every factor using it.
    dim_ordinal: Dict[int, FrozenSet] = {}
    for ordinal, t in factors:
        for d in tensor_dims(t, sum_dims):
            dim_ordinal[d] = dim_ordinal[d] & ordinal if d in dim_ordinal else ordinal
    tree: Dict[FrozenSet, List[torch.Tensor]] = {}
    for ordinal, t in factors:
        tree.setdefault(ordinal, []).append(t)

    result: List[Factor] = []
    while tree:
        leaf = min(tree, key=_ordinal_key)  # a deepest plate set
        terms = tree.pop(leaf)
        leaf_dims = {d for d, o in dim_ordinal.items() if o == leaf}
        for group, dims in partition_factors([(leaf, t) for t in terms], leaf_dims):
            term = group[0][1]
            for _, t in group[1:]:
                term = term + t
            present = tuple(sorted(d for d in dims if -d <= term.dim()))
            if present:
                term = term.logsumexp(present, keepdim=True)
            pending = tensor_dims(term, sum_dims)
            if not pending:
                result.append((leaf, term))
                continue
            parent = frozenset().union(*(dim_ordinal[d] for d in pending))
            if not parent < leaf:
                names = sorted(f.name for f in leaf)
                raise ValueError(
                    f"TraceEnum_ELBO: cannot sum out the enumerated variables at dims "
                    f"{sorted(pending)} from plates {names}: their plates "
                    f"{sorted(f.name for f in parent)} do not nest inside {names} (the plates "
                    f"around enumerated variables must form a tree)"
                )
            leaving = leaf - parent
            for d in tensor_dims(term, frozen_dims):
                if frozen_dims[d] & leaving:
                    raise ValueError(
                        f"TraceEnum_ELBO: a factor depends on a guide-enumerated variable "
                        f"(dim {d}) local to plates {sorted(f.name for f in frozen_dims[d])} "
                        f"and on a model-enumerated variable outside them; enumerate that "
                        f"variable in the model instead, or sample it in the guide"
                    )
            term = _sum_plates(term, leaving)
            tree.setdefault(parent, []).append(term)
    return result
