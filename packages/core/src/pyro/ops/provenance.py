"""Provenance tracking through PyTorch computations.

A :class:`ProvenanceTensor` is a tensor labelled with a ``frozenset`` of user-chosen
objects (its provenance). Every torch operation on provenance tensors returns tensors
labelled with the union of its inputs' provenances, so after a computation the label of
a result says which labelled inputs it was computed from. :func:`pyro.infer.inspect.
get_dependencies` uses this to find which random variables each sample site depends on.

**References**

[1] David Wingate, Noah Goodman, Andreas Stuhlmüller, Jeffrey Siskind (2011)
    "Nonstandard Interpretations of Probabilistic Programs for Efficient Inference"
"""
from __future__ import annotations

from functools import singledispatch
from typing import Any, TypeVar

import torch

__all__ = [
    "ProvenanceTensor",
    "detach_provenance",
    "extract_provenance",
    "get_provenance",
    "track_provenance",
]

_T = TypeVar("_T")


class ProvenanceTensor(torch.Tensor):
    """A tensor carrying a provenance: a ``frozenset`` of user-defined objects.

    The provenance of the outputs of any torch operation is the union of the provenances
    of its inputs; plain tensors have empty provenance. Values and gradients are those
    of the wrapped tensor.

    - To start tracking, wrap a tensor: ``ProvenanceTensor(x, frozenset({"x"}))``.
    - To read a provenance, use :func:`get_provenance`.
    - To drop it (as ``detach()`` drops gradients), use :func:`detach_provenance`; this
      separates direct from indirect provenance.

    Example::

        >>> a = ProvenanceTensor(torch.randn(3), frozenset({"a"}))
        >>> b = ProvenanceTensor(torch.randn(3), frozenset({"b"}))
        >>> c = torch.randn(3)
        >>> assert get_provenance(a + b + c) == frozenset({"a", "b"})
        >>> assert get_provenance(a + detach_provenance(b) + c) == frozenset({"a"})

    :param torch.Tensor data: the tensor to label (any shape, dtype, device). A
        ProvenanceTensor is unwrapped and its provenance merged into ``provenance``.
    :param frozenset provenance: the label; when empty, ``data`` itself is returned.
    :raises TypeError: if ``provenance`` is not a frozenset.

    **References**

    [1] David Wingate, Noah Goodman, Andreas Stuhlmüller, Jeffrey Siskind (2011)
        "Nonstandard Interpretations of Probabilistic Programs for Efficient Inference"
    """

    _t: torch.Tensor
    _provenance: frozenset

    def __new__(cls, data: torch.Tensor, provenance: frozenset = frozenset(), **kwargs: Any):
        if not isinstance(provenance, frozenset):
            raise TypeError(
                f"ProvenanceTensor needs a frozenset provenance, got {type(provenance).__name__}"
            )
        if isinstance(data, ProvenanceTensor):
            provenance = provenance | data._provenance
            data = data._t
        if not provenance:
            return data
        # The wrapper shares storage and autograd history with ``data``; operations are
        # computed on ``data`` itself (see __torch_function__).
        ret = data.as_subclass(cls)
        ret._t = data
        ret._provenance = provenance
        return ret

    # torch.Tensor's own signature; mypy 2.4 rejects any override of the untyped
    # ``Tensor.__repr__(self, *, tensor_contents=None)``, even an identical one
    def __repr__(self, *, tensor_contents: Any = None) -> str:  # type: ignore[override]
        return f"Provenance:\n{self._provenance}\nTensor:\n{self._t!r}"

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        args, arg_provenance = extract_provenance(args)
        kwargs, kwarg_provenance = extract_provenance(kwargs or {})
        return track_provenance(func(*args, **kwargs), arg_provenance | kwarg_provenance)


@singledispatch
def track_provenance(x: Any, provenance: frozenset) -> Any:
    """Label the tensor leaves of ``x`` (a tensor, or tuples, lists, namedtuples and
    dicts nesting tensors) with ``provenance``, added to any they already carry; other
    leaves are returned unchanged.

    :param x: a tensor or a data structure of tensors.
    :param frozenset provenance: the label to add.
    :returns: a structure of the same type with :class:`ProvenanceTensor` leaves.
    """
    return x


@track_provenance.register(torch.Tensor)
def _track_tensor(x, provenance: frozenset):
    return ProvenanceTensor(x, provenance)


@track_provenance.register(tuple)
def _track_tuple(x, provenance: frozenset):
    items = [track_provenance(item, provenance) for item in x]
    return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)


@track_provenance.register(list)
def _track_list(x, provenance: frozenset):
    return [track_provenance(item, provenance) for item in x]


@track_provenance.register(dict)
def _track_dict(x, provenance: frozenset):
    return {key: track_provenance(value, provenance) for key, value in x.items()}


@singledispatch
def extract_provenance(x: Any) -> tuple[Any, frozenset]:
    """Split a data structure possibly holding :class:`ProvenanceTensor` leaves into the
    same structure with plain-tensor leaves and the union of the leaves' provenances.

    :param x: a tensor, or tuples, lists, namedtuples and dicts nesting tensors.
    :returns: a pair ``(detached x, provenance)``.
    """
    return x, frozenset()


@extract_provenance.register(torch.Tensor)
def _extract_tensor(x):
    if isinstance(x, ProvenanceTensor):
        return x._t, x._provenance
    return x, frozenset()


@extract_provenance.register(tuple)
def _extract_tuple(x):
    items, provenance = _extract_items(x)
    return (type(x)(*items) if hasattr(x, "_fields") else type(x)(items)), provenance


@extract_provenance.register(list)
def _extract_list(x):
    return _extract_items(x)


@extract_provenance.register(dict)
def _extract_dict(x):
    values, provenance = _extract_items(x.values())
    return dict(zip(x.keys(), values)), provenance


def _extract_items(items) -> tuple[list, frozenset]:
    out: list = []
    provenance: frozenset = frozenset()
    for item in items:
        item, p = extract_provenance(item)
        out.append(item)
        provenance |= p
    return out, provenance


def get_provenance(x: Any) -> frozenset:
    """The provenance of ``x``: the union of the provenances of the tensor leaves of a
    tensor or of tuples, lists, namedtuples and dicts nesting tensors (empty for anything
    else).

    :rtype: frozenset
    """
    return extract_provenance(x)[1]


def detach_provenance(x: _T) -> _T:
    """``x`` with its provenance dropped (plain tensors, or the same structure of plain
    tensors), as ``torch.Tensor.detach`` drops gradients: computations on the result do
    not depend on ``x``'s provenance."""
    return extract_provenance(x)[0]
