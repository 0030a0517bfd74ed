"""Semirings for sum-product contraction of labelled tensors.

A *term* is a :class:`torch.Tensor` with an attribute ``_pyro_dims``: a string holding one
symbol (a single character) per tensor dim, so that ``term.dim() == len(term._pyro_dims)``.
Two terms share a variable when they share a symbol; symbols are matched by name, never by
position, so a program that recycles tensor dims (``pyro.markov``) still tells its
variables apart. Plate symbols are ordinary symbols that a ring multiplies over with
:meth:`Ring.product` instead of summing out.

A ring fixes what "sum" and "product" mean:

============== ============================ =========================================
ring           terms hold                   sum over a variable
============== ============================ =========================================
LinearRing     probabilities                ``sum``
LogRing        log probabilities            ``logsumexp``
MapRing        log probabilities            ``max`` (and remembers the argmax)
SampleRing     log probabilities            ``logsumexp`` (and can sample backwards)
MarginalRing   log probabilities            ``logsumexp`` (and gives marginals)
============== ============================ =========================================

:meth:`Ring.sumproduct` multiplies many terms and sums some symbols out pairwise, in a
greedy order that keeps every intermediate term small (the product of all terms is never
formed unless every pair shares a variable).

**References**

[1] F. Obermeyer et al., "Tensor Variable Elimination for Plated Factor Graphs", ICML 2019.

[2] S. M. Aji, R. J. McEliece, "The Generalized Distributive Law", IEEE Trans. Inf.
    Theory 46(2), 2000.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

from .special import safe_logsumexp, zero_safe_log

__all__ = ["LinearRing", "LogRing", "MapRing", "MarginalRing", "Ring", "SampleRing"]


# ----------------------------------------------------------------------- labelled tensors


def label(tensor: torch.Tensor, dims: str) -> torch.Tensor:
    """Attach the symbol string ``dims`` to ``tensor`` (one symbol per dim) and return it."""
    if tensor.dim() != len(dims):
        raise ValueError(
            f"a tensor of shape {tuple(tensor.shape)} needs {tensor.dim()} dim symbols, got "
            f"{dims!r}"
        )
    tensor._pyro_dims = dims  # type: ignore[attr-defined]  # Pyro's label on a tensor
    return tensor


def align(tensor: torch.Tensor, dims: str, target: str) -> torch.Tensor:
    """Permute ``tensor`` (labelled ``dims``) into the order of ``target`` and insert
    size-one dims for the symbols of ``target`` it lacks. Every symbol of ``dims`` must be in
    ``target``."""
    missing = set(dims) - set(target)
    if missing:
        raise ValueError(f"cannot align dims {dims!r} into {target!r}: {sorted(missing)} missing")
    order = sorted(range(len(dims)), key=lambda i: target.index(dims[i]))
    if order != list(range(len(dims))):
        tensor = tensor.permute(order)
    present = "".join(dims[i] for i in order)
    shape = []
    it = iter(tensor.shape)
    for s in target:
        shape.append(next(it) if s in present else 1)
    return tensor.reshape(shape)


def _dims(term: torch.Tensor) -> str:
    dims = getattr(term, "_pyro_dims", None)
    if dims is None:
        if term.dim() == 0:
            return ""
        raise ValueError(
            f"a term of shape {tuple(term.shape)} has no _pyro_dims symbols; label it with "
            f"pyro.ops.rings.label(tensor, dims)"
        )
    return dims


def _union(dim_strings: Iterable[str]) -> str:
    out = []
    for dims in dim_strings:
        for s in dims:
            if s not in out:
                out.append(s)
    return "".join(out)


# ------------------------------------------------------------------------ elimination order


def greedy_order(
    dims_list: Sequence[str], sum_dims: Iterable[str], sizes: dict[str, int]
) -> list[tuple[int, int]]:
    """A pairwise contraction order for terms labelled ``dims_list``: a list of pairs of
    positions in the running list of terms (the pair is removed and its product appended).

    At each step it joins, among the pairs sharing a symbol, the one whose product after
    summing out the symbols no other term holds is smallest (ties: the smaller joint
    table); with no shared symbols left, the two smallest terms. Candidate pairs are found
    through an index from symbols to terms, so a chain of ``n`` factors costs ``O(n^2)``.
    """
    sum_dims = set(sum_dims)
    live: dict[int, frozenset] = {i: frozenset(d) for i, d in enumerate(dims_list)}
    holders: dict[str, set] = {}
    for i, ds in live.items():
        for sym in ds:
            holders.setdefault(sym, set()).add(i)
    positions = list(range(len(dims_list)))  # running list: term ids in order
    next_id = len(dims_list)
    order = []

    def size(ds):
        return math.prod(sizes[sym] for sym in ds)

    def joined(i, j):
        joint = live[i] | live[j]
        out = frozenset(sym for sym in joint if sym not in sum_dims
                        or len(holders[sym] - {i, j}) > 0)
        return out, joint

    while len(positions) > 1:
        best = None
        seen = set()
        for sym, ids in holders.items():
            if len(ids) < 2:
                continue
            ordered = sorted(ids)
            for a in range(len(ordered)):
                for b in range(a + 1, len(ordered)):
                    pair = (ordered[a], ordered[b])
                    if pair in seen:
                        continue
                    seen.add(pair)
                    out, joint = joined(*pair)
                    cost = (size(out), size(joint), pair)
                    if best is None or cost < best[0]:
                        best = (cost, pair, out)
        if best is None:  # no shared symbols: outer product of the two smallest
            i, j = sorted(sorted(positions, key=lambda k: size(live[k]))[:2])
            out, _ = joined(i, j)
        else:
            _, (i, j), out = best
        pi, pj = positions.index(i), positions.index(j)
        order.append((min(pi, pj), max(pi, pj)))
        positions = [k for k in positions if k not in (i, j)] + [next_id]
        for k in (i, j):
            for sym in live.pop(k):
                holders[sym].discard(k)
        live[next_id] = out
        for sym in out:
            holders.setdefault(sym, set()).add(next_id)
        next_id += 1
    return order


# ------------------------------------------------------------------------------- the rings


class Ring:
    """Abstract commutative semiring over labelled terms (see the module docstring).

    :param dict cache: an optional dict shared between calls; :meth:`sumproduct` memoizes
        its results there by the identity of its input terms (useful when one computation
        is contracted several times, e.g. once per output).
    """

    def __init__(self, cache: dict | None = None) -> None:
        self._cache = {} if cache is None else cache
        # sizes of plate symbols, used by broadcast()
        self.dim_to_size: dict[str, int] = {}

    # -- what a ring defines
    def _sum(self, tensor: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        raise NotImplementedError

    def _mul(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _prod(self, tensor: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        raise NotImplementedError

    def one(self, like: torch.Tensor) -> torch.Tensor:
        """The multiplicative identity, as a 0-dim term on ``like``'s device and dtype."""
        raise NotImplementedError

    def inv(self, term: torch.Tensor) -> torch.Tensor:
        """The multiplicative inverse of a term (same symbols)."""
        raise NotImplementedError

    # -- derived operations
    def dims(self, term: torch.Tensor) -> str:
        """The symbols of ``term``."""
        return _dims(term)

    def sumproduct(self, terms: Sequence[torch.Tensor], dims: Iterable[str]) -> torch.Tensor:
        """Multiply ``terms`` and sum out the symbols ``dims``.

        Terms are joined pairwise in a greedy order (:func:`greedy_order`); a symbol is
        summed as soon as no remaining term holds it, so intermediate results stay of the
        order of the largest factor for chain- and tree-structured products.

        :returns: a term labelled with the remaining symbols (in order of appearance).
        """
        terms = list(terms)
        dims = set(dims)
        if not terms:
            raise ValueError("sumproduct needs at least one term")
        key = ("sumproduct", tuple(map(id, terms)), frozenset(dims))
        hit = self._cache.get(key)
        if hit is not None:
            return hit[0]
        result = self._sumproduct(terms, dims)
        self._cache[key] = (result, terms)  # the terms are kept alive so ids stay unique
        return result

    def _sumproduct(self, terms: list[torch.Tensor], dims: set) -> torch.Tensor:
        sizes: dict[str, int] = {}
        for t in terms:
            for s, n in zip(_dims(t), t.shape):
                sizes[s] = max(sizes.get(s, 1), n)
        if len(terms) == 1:
            return self._join([terms[0]], dims)
        if len(terms) == 2:  # one pair: no order to choose
            return self._join(terms, dims)
        for i, j in greedy_order([_dims(t) for t in terms], dims, sizes):
            others = set().union(*(set(_dims(t)) for k, t in enumerate(terms) if k not in (i, j)))
            joined = self._join([terms[i], terms[j]], dims - others)
            terms = [t for k, t in enumerate(terms) if k not in (i, j)] + [joined]
        last = terms[0]
        left = dims & set(_dims(last))
        return self._join(terms, left) if left else last

    def _join(self, terms: list[torch.Tensor], sum_dims: set) -> torch.Tensor:
        """Multiply terms (broadcast by symbol) and sum out ``sum_dims``."""
        target = _union(_dims(t) for t in terms)
        aligned = [t if _dims(t) == target else align(t, _dims(t), target) for t in terms]
        result = aligned[0]
        for x in aligned[1:]:
            result = self._mul(result, x)
        elim = tuple(i for i, s in enumerate(target) if s in sum_dims)
        if elim:
            self._record(result, target, elim)
            result = self._sum(result, elim)
        out_dims = "".join(s for s in target if s not in sum_dims)
        return label(result, out_dims)

    def _record(self, joint: torch.Tensor, dims: str, elim: tuple[int, ...]) -> None:
        """Hook for rings that trace eliminations (MAP and sampling)."""

    def product(self, term: torch.Tensor, ordinal: Iterable[str]) -> torch.Tensor:
        """Multiply ``term`` over the plates (symbols) in ``ordinal`` it holds."""
        dims = _dims(term)
        ordinal = ordinal if isinstance(ordinal, (set, frozenset)) else set(ordinal)
        elim = tuple(i for i, s in enumerate(dims) if s in ordinal)
        if not elim:
            return term
        return label(self._prod(term, elim), "".join(s for s in dims if s not in ordinal))

    def broadcast(self, term: torch.Tensor, ordinal: Iterable[str]) -> torch.Tensor:
        """Add the plate symbols of ``ordinal`` that ``term`` lacks, with their sizes taken
        from ``self.dim_to_size``."""
        dims = _dims(term)
        new = [s for s in sorted(ordinal) if s not in dims]
        if not new:
            return term
        sizes = self.dim_to_size
        missing = [s for s in new if s not in sizes]
        if missing:
            raise ValueError(f"broadcast: sizes of plates {missing} unknown; pass dim_to_size")
        shape = tuple(sizes[s] for s in new) + tuple(term.shape)
        out = term.reshape((1,) * len(new) + tuple(term.shape)).expand(shape)
        return label(out, "".join(new) + dims)


class _TensorRing(Ring):
    def __init__(self, cache: dict | None = None,
                 dim_to_size: dict[str, int] | None = None) -> None:
        super().__init__(cache)
        self.dim_to_size = {} if dim_to_size is None else dim_to_size


class LinearRing(_TensorRing):
    """The ring of probabilities: product is ``*``, sum is ``sum``.

    :param dict dim_to_size: sizes of plate symbols, used by :meth:`broadcast`.
    """

    def _sum(self, tensor, dims):
        return tensor.sum(dims)

    def _mul(self, x, y):
        return x * y

    def _prod(self, tensor, dims):
        for d in sorted(dims, reverse=True):
            tensor = tensor.prod(d)
        return tensor

    def one(self, like):
        return label(torch.ones((), dtype=like.dtype, device=like.device), "")

    def inv(self, term):
        return label(term.reciprocal(), _dims(term))


class LogRing(_TensorRing):
    """The log-sum-exp ring: terms are log values, product is ``+``, sum is ``logsumexp``.

    :param dict dim_to_size: sizes of plate symbols, used by :meth:`broadcast`.
    :param dict plate_scale: optional ``{plate symbol: scale}``; the product over a plate is
        multiplied (in log space) by its scale, so that a subsampled plate of ``size`` out of
        ``full_size`` elements estimates the product over all elements.
    """

    def __init__(self, cache=None, dim_to_size=None, plate_scale=None) -> None:
        super().__init__(cache, dim_to_size)
        self.plate_scale = plate_scale or {}

    def _sum(self, tensor, dims):
        # (a group of impossible configurations, all -inf, must not give NaN gradients)
        return safe_logsumexp(tensor, dims)

    def _mul(self, x, y):
        return x + y

    def _prod(self, tensor, dims):
        return tensor.sum(dims)

    def product(self, term, ordinal):
        ordinal = set(ordinal)
        scale = 1.0
        for s in ordinal & set(_dims(term)):
            scale *= self.plate_scale.get(s, 1.0)
        out = super().product(term, ordinal)
        if scale != 1.0:
            out = label(out * scale, _dims(out))
        return out

    def one(self, like):
        return label(torch.zeros((), dtype=like.dtype, device=like.device), "")

    def inv(self, term):
        return label(-term, _dims(term))

    def _join(self, terms, sum_dims):
        # Two terms and something to sum: a shifted exp, torch.einsum (a batched matmul),
        # and a log, so the memory is that of the inputs and output, never their product.
        if len(terms) != 2 or not sum_dims:
            return super()._join(terms, sum_dims)
        x, y = terms
        xd, yd = _dims(x), _dims(y)
        if xd == yd and x.shape == y.shape:
            # one table: the joint is no bigger than the inputs (as decided below)
            return super()._join(terms, sum_dims)
        target = _union([xd, yd])
        sum_dims = set(sum_dims) & set(target)
        if not sum_dims or len(target) > len(_LETTERS):
            return super()._join(terms, sum_dims)
        sizes = dict(zip(xd, x.shape))
        for sym, n in zip(yd, y.shape):
            sizes[sym] = max(sizes.get(sym, 1), n)
        if math.prod(sizes[s] for s in target) <= x.numel() + y.numel():
            # the joint table is no bigger than the inputs (one term's symbols hold the
            # other's): adding and a logsumexp cost fewer kernels than the einsum
            return super()._join(terms, sum_dims)
        out_dims = "".join(s for s in target if s not in sum_dims)
        letters = {s: _LETTERS[i] for i, s in enumerate(target)}
        shifted, shifts = [], []
        for t, td in ((x, xd), (y, yd)):
            elim = tuple(i for i, s in enumerate(td) if s in sum_dims)
            shift = t.detach().amax(elim, keepdim=True) if elim else t.detach()
            shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
            shifted.append((t - shift).exp())
            kept = "".join(s for s in td if s not in sum_dims) if elim else td
            shifts.append(align(shift.reshape([n for s, n in zip(td, shift.shape)
                                               if s not in sum_dims or not elim]),
                                kept, out_dims))
        equation = "{},{}->{}".format("".join(letters[s] for s in xd),
                                      "".join(letters[s] for s in yd),
                                      "".join(letters[s] for s in out_dims))
        result = zero_safe_log(torch.einsum(equation, *shifted)) + shifts[0] + shifts[1]
        return label(result, out_dims)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _BackwardRing(LogRing):
    """A log ring that records each elimination, so that values of the summed variables can
    be drawn backwards (last eliminated first), conditioned on what was drawn before."""

    def __init__(self, cache=None, dim_to_size=None, plate_scale=None) -> None:
        super().__init__(cache, dim_to_size, plate_scale)
        self.tape: list[tuple[torch.Tensor, str, tuple[int, ...]]] = []

    def _join(self, terms, sum_dims):
        # the joint table of each elimination is recorded for the backward pass
        return Ring._join(self, terms, sum_dims)

    def _record(self, joint, dims, elim):
        self.tape.append((joint.detach(), dims, elim))

    def _choose(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def backward(self, given: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Draw every eliminated symbol, in reverse order of elimination.

        :param dict given: values (labelled index tensors) of symbols to condition on that
            were not eliminated (e.g. outer variables fixed elsewhere).
        :returns: ``{symbol: labelled long tensor}``; each value is labelled with the plate
            symbols it varies along.
        """
        values: dict[str, torch.Tensor] = dict(given or {})
        for joint, dims, elim in reversed(self.tape):
            elim_syms = [dims[i] for i in elim]
            table, tdims = joint, dims
            for s in [s for s in dims if s in values and s not in elim_syms]:
                table, tdims = condition(table, tdims, s, values[s])
            kept = "".join(s for s in tdims if s not in elim_syms)
            table = align(table, tdims, kept + "".join(elim_syms))
            batch = table.shape[: len(kept)]
            flat = table.reshape(batch + (-1,))
            sizes = table.shape[len(kept):]
            values.update(unflatten(self._choose(flat), kept, "".join(elim_syms), sizes))
        return values


class MapRing(_BackwardRing):
    """The max-plus ring (``+`` and ``max``) for maximum a posteriori values: after a
    contraction, :meth:`backward` returns the jointly most probable values of the
    eliminated variables (Viterbi decoding generalized to plated factor graphs)."""

    def _sum(self, tensor, dims):
        return tensor.amax(dims)

    def _choose(self, logits):
        return logits.argmax(-1)


class SampleRing(_BackwardRing):
    """The log ring with backward sampling: after a contraction, :meth:`backward` draws the
    eliminated variables from their exact joint posterior (forward-filter backward-sample
    generalized to plated factor graphs)."""

    def _choose(self, logits):
        return torch.distributions.Categorical(logits=logits).sample()


class MarginalRing(LogRing):
    """The log ring whose contractions are differentiated to give marginals: the gradient
    of ``log Z`` with respect to a log factor is the posterior marginal of that factor's
    variables. :meth:`marginals` returns them for terms passed through
    :meth:`require_marginal`."""

    def require_marginal(self, term: torch.Tensor) -> torch.Tensor:
        """Return a copy of ``term`` whose marginal :meth:`marginals` can compute."""
        leaf = term.detach().requires_grad_()
        return label(leaf, _dims(term))

    def marginals(self, log_z: torch.Tensor, terms: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Posterior marginal probabilities ``d log_z / d term`` of each term (labelled as
        the term, broadcast to its shape)."""
        grads = torch.autograd.grad(log_z.sum(), list(terms), allow_unused=True)
        out = []
        for t, g in zip(terms, grads):
            g = torch.zeros_like(t) if g is None else g
            out.append(label(g, _dims(t)))
        return out


def condition(table: torch.Tensor, dims: str, sym: str, value: torch.Tensor):
    """Index ``table`` at ``sym = value`` (``value`` a labelled index tensor whose symbols
    are plates, or none for a 0-dim value); the result drops ``sym`` and gains the plates of
    ``value``. Returns ``(table, dims)``."""
    vdims = getattr(value, "_pyro_dims", "")
    target = _union([dims, vdims])
    t = align(table, dims, target)
    v = align(value, vdims, target) if vdims else value.reshape((1,) * len(target))
    pos = target.index(sym)
    shape = list(torch.broadcast_shapes(t.shape, v.shape))
    shape[pos] = t.shape[pos]
    t = t.expand(shape)
    ishape = list(shape)
    ishape[pos] = 1
    out = t.gather(pos, v.long().expand(ishape)).squeeze(pos)
    return out, target.replace(sym, "")


def unflatten(flat_sample: torch.Tensor, output_dims: str, contract_dims: str,
              contract_shape: Sequence[int]) -> dict[str, torch.Tensor]:
    """Split positions in the flattened (row-major) product of ``contract_dims`` into one
    position per contracted symbol.

    :param flat_sample: long tensor of flat positions, one per element of the output
        dims (labelled ``output_dims``).
    :param str contract_dims: the contracted symbols, in flattening order.
    :param contract_shape: their sizes.
    :returns: ``{symbol: positions}`` for each contracted symbol, each labelled
        ``output_dims``.
    """
    result: dict[str, torch.Tensor] = {}
    index = flat_sample
    for sym, size in reversed(list(zip(contract_dims, contract_shape))):
        result[sym] = label(index % size, output_dims)
        index = torch.div(index, size, rounding_mode="floor")
    return result
