"""Tensor variable elimination: sum-product contraction of plated factor graphs.

A *tensor tree* maps an *ordinal* (a frozenset of plate symbols) to a list of terms living
in those plates. Terms are tensors labelled with one symbol per dim (``_pyro_dims``, see
:mod:`pyro.ops.rings`). A plate symbol indexes independent copies (its elements), any
other symbol is a variable. Each variable lives in the plates shared by every term that
holds it.

:func:`contract_tensor_tree` sums variables out from the leaves of the plate tree to its
root: at each ordinal (deepest first) the terms there are multiplied and the variables
local to it summed out pairwise (:meth:`~pyro.ops.rings.Ring.sumproduct`, never forming
the joint table), then each result is multiplied over the plates it leaves
(:meth:`~pyro.ops.rings.Ring.product`) and handed to the enclosing ordinal of the
variables it still holds. The cost is that of the largest intermediate factor, not the
exponential size of the joint.

:func:`ubersum` is the same in einsum notation, with plates given as ``batch_dims``;
:func:`naive_ubersum` computes it by unrolling every plate (exponential: a reference for
tests).

**References**

[1] F. Obermeyer, E. Bingham, M. Jankowiak, J. Chiu, N. Pradhan, A. Rush, N. Goodman,
    "Tensor Variable Elimination for Plated Factor Graphs", ICML 2019.
"""
from __future__ import annotations

import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Iterable

import torch

from .rings import LinearRing, LogRing, MapRing, MarginalRing, Ring, SampleRing, align, label

__all__ = ["contract_tensor_tree", "contract_to_tensor", "einsum", "naive_ubersum", "ubersum"]

TensorTree = dict[frozenset[str], list[torch.Tensor]]


def _dims(term: torch.Tensor) -> str:
    # a term without symbols (a 0-dim constant) holds none
    return getattr(term, "_pyro_dims", None) or ""


def _components(terms: list[torch.Tensor], sum_dims: set[str]) -> list[list[torch.Tensor]]:
    """Split terms into groups connected through symbols of ``sum_dims``."""
    if len(terms) < 2:
        return [terms] if terms else []
    keys = [sum_dims.intersection(_dims(t)) for t in terms]
    if len(terms) == 2:  # (the common case, without the union-find below)
        return [terms] if keys[0] & keys[1] else [[terms[0]], [terms[1]]]
    parent = list(range(len(terms)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, key in enumerate(keys):
        for s in key:
            if s in owner:
                parent[find(i)] = find(owner[s])
            else:
                owner[s] = i
    groups: OrderedDict[int, list[torch.Tensor]] = OrderedDict()
    for i, t in enumerate(terms):
        groups.setdefault(find(i), []).append(t)
    return list(groups.values())


def _plates(tensor_tree: TensorTree) -> set[str]:
    return set().union(*tensor_tree.keys()) if tensor_tree else set()


def _names(ordinal: Iterable[str]) -> list[str]:
    return sorted(ordinal)


def contract_tensor_tree(
    tensor_tree: TensorTree,
    sum_dims: Iterable[str],
    cache: dict | None = None,
    ring: Ring | None = None,
) -> TensorTree:
    """Sum the variables ``sum_dims`` out of a plated tensor tree.

    :param dict tensor_tree: ``{ordinal: [term, ...]}``; an ordinal is a frozenset of plate
        symbols and each term a tensor labelled with ``_pyro_dims``.
    :param sum_dims: the variable symbols to sum out. Other variable symbols stay (they are
        summed elsewhere, e.g. a guide's variables) and are carried along as batch dims: the
        caller checks that none is multiplied over a plate it is local to.
    :param dict cache: passed to the default ring.
    :param ring: a :class:`~pyro.ops.rings.Ring` (default :class:`~pyro.ops.rings.LogRing`).
    :returns: a tensor tree of the same form whose terms hold no symbol of ``sum_dims``.
    :raises ValueError: when the plates around the variables do not nest as a tree (a
        term depends on variables whose plates are not nested in its own), naming them.
    """
    ring = LogRing(cache) if ring is None else ring
    sum_dims = set(sum_dims)
    plates = _plates(tensor_tree)
    terms = [(frozenset(o), t) for o, ts in tensor_tree.items() for t in ts]
    result: TensorTree = OrderedDict()
    by_id = {id(t): o for o, t in terms}
    for component in _components([t for _, t in terms], sum_dims):
        factors = [(by_id[id(t)], t) for t in component]
        for ordinal, term in _contract_component(factors, sum_dims, plates, ring):
            result.setdefault(ordinal, []).append(term)
    return result


def _depth(ordinal: frozenset[str]) -> tuple[int, list[str]]:
    return len(ordinal), _names(ordinal)


def _contract_component(factors, sum_dims, plates, ring):
    # The ordinal of each variable: the plates shared by every term holding it.
    var_ordinal: dict[str, frozenset[str]] = {}
    for ordinal, t in factors:
        for s in _dims(t):
            if s not in plates:
                var_ordinal[s] = var_ordinal[s] & ordinal if s in var_ordinal else ordinal
    tree: dict[frozenset[str], list[torch.Tensor]] = OrderedDict()
    for ordinal, t in factors:
        tree.setdefault(ordinal, []).append(t)
    out = []
    while tree:
        # a deepest ordinal
        leaf = next(iter(tree)) if len(tree) == 1 else max(tree, key=_depth)
        terms = tree.pop(leaf)
        local = {s for s, o in var_ordinal.items() if o == leaf and s in sum_dims}
        for group in _components(terms, local):
            group_local = local & set().union(*(set(_dims(t)) for t in group))
            term = ring.sumproduct(group, group_local)
            pending = {s for s in _dims(term) if s in sum_dims}
            if not pending:
                out.append((leaf, term))
                continue
            parent = frozenset().union(*(var_ordinal[s] for s in pending))
            if not parent < leaf:
                outside = sorted(s for s in pending if not var_ordinal[s] < leaf)
                raise ValueError(
                    f"cannot sum out the variables of a factor in plates {_names(leaf)}: it "
                    f"depends on variables {outside} of plates {_names(parent)}, which do not "
                    f"nest around {_names(leaf)} (the "
                    f"plates around the summed variables must form a tree)"
                )
            term = ring.product(term, leaf - parent)
            tree.setdefault(parent, []).append(term)
    return out


def contract_to_tensor(
    tensor_tree: TensorTree,
    sum_dims: Iterable[str],
    target_ordinal: Iterable[str] | None = None,
    target_dims: Iterable[str] | None = None,
    cache: dict | None = None,
    ring: Ring | None = None,
) -> torch.Tensor:
    """Contract a tensor tree to one term: sum out ``sum_dims`` (except ``target_dims``),
    multiply over every plate not in ``target_ordinal``, and multiply the results.

    :param target_ordinal: the plates the result keeps (default: none).
    :param target_dims: the variables the result keeps (default: none).
    :returns: a term labelled with ``target_dims`` and the plates of ``target_ordinal``
        that the tree holds.
    :raises ValueError: when a kept variable lives in a plate that is multiplied out.
    """
    ring = LogRing(cache) if ring is None else ring
    target_ordinal = frozenset(target_ordinal or ())
    target_dims = set(target_dims or ())
    sum_dims = set(sum_dims) - target_dims
    plates = _plates(tensor_tree)
    _check_targets(tensor_tree, sum_dims, target_dims)
    contracted = contract_tensor_tree(tensor_tree, sum_dims, ring=ring)
    terms = []
    for ordinal, ts in contracted.items():
        for t in ts:
            leaving = ordinal - target_ordinal
            bad = [s for s in _dims(t) if s not in plates and s in target_dims]
            if bad and leaving:
                # a kept variable must not be multiplied over the plates it lives in
                holders = [o for o, xs in tensor_tree.items() for x in xs
                           if set(bad) & set(_dims(x))]
                home = frozenset.intersection(*map(frozenset, holders))
                if home & leaving:
                    raise ValueError(
                        f"contract_to_tensor: target variables {bad} live in plates "
                        f"{_names(home)}, which the target ordinal {_names(target_ordinal)} "
                        f"multiplies out"
                    )
            terms.append(ring.product(t, leaving))
    if not terms:
        raise ValueError("contract_to_tensor: the tensor tree is empty")
    result = ring.sumproduct(terms, set())
    missing = set(_dims(result)) - target_dims - target_ordinal
    if missing:
        raise ValueError(f"contract_to_tensor: symbols {sorted(missing)} were left over")
    return result


def _check_targets(tensor_tree: TensorTree, sum_dims: set[str], target_dims: set[str]) -> None:
    home: dict[str, frozenset[str]] = {}
    for ordinal, ts in tensor_tree.items():
        for t in ts:
            for s in _dims(t):
                if s in sum_dims or s in target_dims:
                    home[s] = home[s] & ordinal if s in home else frozenset(ordinal)
    for s in target_dims & set(home):
        outer = [v for v in sum_dims & set(home) if not home[s] <= home[v]]
        if home[s] and outer:
            raise ValueError(
                f"contract_to_tensor: the kept variable {s!r} is local to plates "
                f"{_names(home[s])} while variables {sorted(outer)} outside them are summed; "
                f"its marginal needs a backward pass (pyro.ops.rings.MarginalRing or "
                f"SampleRing), not a single contraction"
            )


# ------------------------------------------------------------------------- einsum notation

_BACKENDS = {
    "torch": LinearRing,
    "pyro.ops.einsum.torch_log": LogRing,
    "pyro.ops.einsum.torch_map": MapRing,
    "pyro.ops.einsum.torch_sample": SampleRing,
    "pyro.ops.einsum.torch_marginal": MarginalRing,
}


def ring_for(backend: str, cache=None) -> Ring:
    """The semiring of an einsum ``backend`` name (``"torch"``, ``"pyro.ops.einsum.torch_log"``,
    ...), sharing ``cache`` between contractions.

    :raises ValueError: for an unknown backend.
    """
    try:
        return _BACKENDS[backend](cache)
    except KeyError:
        raise ValueError(
            f"unknown backend {backend!r}; choose one of {sorted(_BACKENDS)}"
        ) from None


def parse_equation(equation: str, operands) -> tuple:
    """Split an einsum ``equation`` with an explicit output into ``(inputs, outputs)``.

    :raises ValueError: without ``->`` or when the inputs do not match ``operands``.
    """
    equation = equation.replace(" ", "")
    if "->" not in equation:
        raise ValueError(f"equation {equation!r} needs an explicit output ('->')")
    lhs, outputs = equation.split("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"equation {equation!r} names {len(inputs)} operands, got {len(operands)}")
    for dims, x in zip(inputs, operands):
        if len(dims) != x.dim():
            raise ValueError(f"operand of shape {tuple(x.shape)} does not match {dims!r}")
    return inputs, outputs.split(",")


def label_operands(operands, inputs) -> list[torch.Tensor]:
    """Label each operand, taking a diagonal where a symbol repeats in one operand."""
    out = []
    for x, dims in zip(operands, inputs):
        x = x.view(x.shape) if x.dim() else x.reshape(())
        while len(set(dims)) < len(dims):
            s = next(s for s in dims if dims.count(s) > 1)
            i, j = dims.index(s), dims.index(s, dims.index(s) + 1)
            x = x.diagonal(dim1=i, dim2=j)
            dims = dims[:i] + dims[i + 1:j] + dims[j + 1:] + s
        out.append(label(x, dims))
    return out


def einsum(equation: str, *operands: torch.Tensor, **kwargs) -> tuple:
    """Contract ``operands`` as ``equation`` says, with one or more outputs.

    Like :func:`torch.einsum` but with an explicit output list (``"ab,bc->ac,c"`` returns
    two tensors), optional plates, and a choice of semiring: ``backend`` is ``"torch"``
    (sum-product, default), ``"pyro.ops.einsum.torch_log"`` (log-sum-exp), ``..._map``
    (max-plus), ``..._sample`` or ``..._marginal``. ``cache`` (a dict) is shared between
    the outputs.

    :param str plates: plate symbols (as ``batch_dims`` of :func:`ubersum`; default none).
    :param bool modulo_total: see :func:`ubersum`.
    :returns: a tuple of tensors, one per output, dims ordered as the output names them.
    """
    plates = kwargs.pop("plates", "")
    return ubersum(equation, *operands, batch_dims=plates, **kwargs)


def ubersum(equation: str, *operands: torch.Tensor, **kwargs) -> tuple:
    """Plated einsum: like :func:`einsum`, where the symbols in ``batch_dims`` are plates.

    An operand holding plate ``i`` is one factor per element of ``i``; a variable held only
    by operands in plate ``i`` has an independent copy per element. An output keeps the
    plates it names and is multiplied over the others. Computed by tensor variable
    elimination (:func:`contract_to_tensor`).

    :param str batch_dims: the plate symbols (default none).
    :param str backend: as in :func:`einsum`.
    :param bool modulo_total: when true, terms that hold no variable (constants within
        each plate element) are left out, so results are correct up to a total scale.
    :param dict cache: shared between the outputs.
    :returns: a tuple of tensors, one per output.
    :raises ValueError: when an output keeps a variable local to a plate it multiplies
        out, or the plates do not nest as a tree.

    **References**

    [1] F. Obermeyer et al., "Tensor Variable Elimination for Plated Factor Graphs", 2019.
    """
    with traced_quietly():
        return _ubersum(equation, *operands, **kwargs)


def traced_quietly():
    """Under ``torch.jit.trace``, hide the ``TracerWarning`` s of Pyro's own modules: a
    contraction plans its order from sizes read in Python, which a trace rightly fixes
    (Pyro's einsum example traces contractions and shows none). Nothing when not tracing.
    """
    if not torch.jit.is_tracing():
        return contextlib.nullcontext()
    from .jit import pyro_tracer_warnings_ignored

    return pyro_tracer_warnings_ignored()


def _ubersum(equation: str, *operands: torch.Tensor, **kwargs) -> tuple:
    batch_dims = kwargs.pop("batch_dims", "")
    backend = kwargs.pop("backend", "torch")
    modulo_total = kwargs.pop("modulo_total", False)
    cache = kwargs.pop("cache", None)
    if kwargs:
        raise TypeError(f"ubersum: unexpected keyword arguments {sorted(kwargs)}")
    inputs, outputs = parse_equation(equation, operands)
    terms = label_operands(operands, inputs)
    ring = ring_for(backend, {} if cache is None else cache)
    sizes = {s: n for t in terms for s, n in zip(_dims(t), t.shape)}
    ring.dim_to_size = sizes
    batch = set(batch_dims)
    from .einsum.plated_adjoint import wants_backward

    if wants_backward(ring, operands):
        # operands marked by require_backward: their results get a backward pass
        return _ubersum_with_backward(ring, terms, operands, inputs, outputs, batch_dims,
                                      modulo_total)
    return _ubersum_terms(ring, terms, operands, outputs, batch, modulo_total)


def _ubersum_with_backward(ring, terms, operands, inputs, outputs, batch_dims: str,
                           modulo_total: bool) -> tuple:
    from .einsum.plated_adjoint import PlatedBackward

    marked = []
    terms = list(terms)
    for i, (x, dims) in enumerate(zip(operands, inputs)):
        if getattr(x, "_pyro_backward", None) is None:
            continue
        if isinstance(ring, MarginalRing):
            terms[i] = ring.require_marginal(terms[i])  # a leaf to differentiate at
        marked.append((x, dims, terms[i]))
    # (marginals are gradients of log Z: the contraction is recorded even under no_grad)
    with torch.enable_grad() if isinstance(ring, MarginalRing) else contextlib.nullcontext():
        results = _ubersum_terms(ring, terms, operands, outputs, set(batch_dims),
                                 modulo_total)
    for result in results:
        result._pyro_backward = PlatedBackward(  # type: ignore[attr-defined]
            ring, marked, batch_dims, result, inputs)
    return results


def _ubersum_terms(ring, terms, operands, outputs, batch: set, modulo_total: bool) -> tuple:
    results = []
    for output in outputs:
        tree: TensorTree = OrderedDict()
        for t in terms:
            if modulo_total and not set(_dims(t)) - batch:
                continue  # a constant within each plate element: only scales the total
            tree.setdefault(frozenset(set(_dims(t)) & batch), []).append(t)
        if not tree:
            one = ring.one(operands[0])
            tree[frozenset()] = [one]
        all_syms = set().union(*(set(_dims(t)) for t in terms))
        sum_dims = all_syms - batch - set(output)
        target_ordinal = frozenset(set(output) & batch)
        result = contract_to_tensor(tree, sum_dims, target_ordinal,
                                    set(output) - batch, ring=ring)
        result = ring.broadcast(result, target_ordinal)
        for s in output:
            if s not in _dims(result):
                raise ValueError(f"ubersum: output symbol {s!r} is in no operand")
        results.append(align(result, _dims(result), output))
    return tuple(results)


_FRESH = itertools.count()


def _fresh() -> str:
    return chr(0x4E00 + next(_FRESH) % 20000)


def naive_ubersum(equation: str, *operands: torch.Tensor, **kwargs) -> tuple:
    """:func:`ubersum` computed by unrolling every plate into separate copies of its local
    variables and contracting the resulting flat factor graph; exponential in the number of
    plate elements, for testing :func:`ubersum`. Same arguments (``modulo_total`` is
    accepted and ignored: the result is exact)."""
    batch_dims = kwargs.pop("batch_dims", "")
    backend = kwargs.pop("backend", "torch")
    kwargs.pop("modulo_total", None)
    kwargs.pop("cache", None)
    if kwargs:
        raise TypeError(f"naive_ubersum: unexpected keyword arguments {sorted(kwargs)}")
    inputs, outputs = parse_equation(equation, operands)
    terms = label_operands(operands, inputs)
    ring = ring_for(backend)
    batch = set(batch_dims)
    results = []
    sizes = {s: n for t in terms for s, n in zip(_dims(t), t.shape)}
    for output in outputs:
        kept_batch = [s for s in output if s in batch]
        free = "".join(s for s in output if s not in batch)
        slices = []
        for idx in itertools.product(*(range(sizes[b]) for b in kept_batch)):
            # the kept element of each output plate keeps its variables' symbols
            flat = _unroll(terms, batch, dict(zip(kept_batch, idx)))
            syms = set().union(*(set(_dims(t)) for t in flat))
            out = ring.sumproduct(flat, syms - set(free))
            slices.append(align(out, _dims(out), free).expand(
                tuple(sizes[s] for s in free)))
        stacked = torch.stack(slices).reshape(
            tuple(sizes[b] for b in kept_batch) + tuple(sizes[s] for s in free))
        order = kept_batch + list(free)
        results.append(stacked.permute([order.index(s) for s in output]))
    return tuple(results)


def _take(t: torch.Tensor, index: dict[str, int]) -> torch.Tensor:
    dims = _dims(t)
    for s, i in index.items():
        if s in dims:
            pos = dims.index(s)
            t = t.select(pos, i if t.shape[pos] > 1 else 0)
            dims = dims.replace(s, "")
    return label(t, dims)


def _unroll(terms: list[torch.Tensor], plates: set[str],
            keep: dict[str, int]) -> list[torch.Tensor]:
    """Replace each plate by copies: the variables held only by terms in the plate get a
    fresh symbol per element (except in element ``keep[plate]``, which keeps them)."""
    for p in sorted(plates):
        inside = [t for t in terms if p in _dims(t)]
        outside = [t for t in terms if p not in _dims(t)]
        if not inside:
            continue
        outer_syms = set().union(*(set(_dims(t)) for t in outside)) if outside else set()
        local = set().union(*(set(_dims(t)) for t in inside)) - outer_syms - plates
        n = max(t.shape[_dims(t).index(p)] for t in inside)
        new = list(outside)
        for i in range(n):
            rename = {} if keep.get(p) == i else {s: _fresh() for s in local}
            for t in inside:
                x = _take(t, {p: i})
                new.append(label(x, "".join(rename.get(s, s) for s in _dims(x))))
        terms = new
    return terms
