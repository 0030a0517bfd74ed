"""Packed tensors: tensors that name their dims.

An *unpacked* tensor is laid out as Pyro samples are: plates and enumeration dims at fixed
negative positions, with size-1 dims wherever a variable does not vary. A *packed* tensor
drops those size-1 dims and records, in an attribute ``_pyro_dims`` (a string, one symbol
per remaining dim, as the terms of :mod:`pyro.ops.rings` and :mod:`pyro.ops.contract`
carry), which variable each dim is. Numbers stay numbers.

The helpers here pack and unpack, and compute with packed tensors by symbol: results are
laid out with their symbols in sorted order.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import torch

__all__ = [
    "broadcast_all",
    "dims_of",
    "exp",
    "gather",
    "labelled",
    "mul",
    "neg",
    "pack",
    "rename_equation",
    "scale_and_mask",
    "unpack",
]


def labelled(tensor: torch.Tensor, dims: str) -> torch.Tensor:
    """``tensor`` itself, labelled with ``dims`` (one symbol per dim) as a packed tensor."""
    tensor._pyro_dims = dims  # type: ignore[attr-defined]  # Pyro's label on a tensor
    return tensor


def dims_of(value: Any) -> str:
    """The symbols of a packed value: its ``_pyro_dims`` (``""`` for a number or a 0-dim
    tensor).

    :raises ValueError: for a tensor with dims but no (or mismatched) ``_pyro_dims``.
    """
    if isinstance(value, torch.Tensor):
        dims = getattr(value, "_pyro_dims", None)
        if dims is None:
            if value.dim() == 0:
                return ""
            raise ValueError(f"packed: a tensor of shape {tuple(value.shape)} has no "
                             f"_pyro_dims; pack it first with pyro.ops.packed.pack")
        if len(dims) != value.dim():
            raise ValueError(f"packed: _pyro_dims {dims!r} does not match a tensor of shape "
                             f"{tuple(value.shape)}")
        return dims
    return ""


def _align(value: torch.Tensor, dims: str, target: str) -> torch.Tensor:
    """Permute and unsqueeze a packed tensor to the symbol order ``target``."""
    order = [dims.index(s) for s in target if s in dims]
    shape = [value.size(dims.index(s)) if s in dims else 1 for s in target]
    return value.permute(order).reshape(shape)


def pack(value: Any, dim_to_symbol: Mapping[int, str]) -> Any:
    """Pack an unpacked tensor: drop its size-1 dims and name the others.

    :param value: a number or a tensor whose non-trivial dims are all at negative
        positions listed in ``dim_to_symbol``.
    :param dim_to_symbol: a map from negative dims to one-character symbols.
    :returns: the number unchanged, or a view of the tensor with attribute
        ``_pyro_dims`` (a 0-dim tensor gets ``""``).
    :raises ValueError: if a dim of size > 1 has no symbol (the message lists the
        allowed dims; add shape assertions to the model to find the culprit).
    """
    if not isinstance(value, torch.Tensor):
        return value
    shape = value.shape
    keep, dims = [], []
    for pos, size in enumerate(shape):
        dim = pos - len(shape)
        if size == 1:
            continue
        if dim not in dim_to_symbol:
            raise ValueError(
                f"Invalid tensor shape.\n  Allowed dims: "
                f"{', '.join(str(d) for d in sorted(dim_to_symbol))}\n  Actual shape: "
                f"{tuple(shape)}\n  Try adding shape assertions for your model's sample "
                f"values and distribution parameters."
            )
        keep.append(size)
        dims.append(dim_to_symbol[dim])
    return labelled(value.reshape(keep), "".join(dims))


def unpack(value: Any, symbol_to_dim: Mapping[str, int]) -> Any:
    """Unpack a packed tensor back to Pyro's layout: each named dim moves to its negative
    position and every other position gets a size-1 dim.

    :param value: a number or a packed tensor.
    :param symbol_to_dim: a map from symbols to negative dims.
    :returns: the number unchanged, or a tensor with ``-min(dims)`` dims (a view).
    :raises KeyError: for a symbol missing from ``symbol_to_dim``.
    """
    if not isinstance(value, torch.Tensor):
        return value
    dims = dims_of(value)
    if not dims:
        return value
    for s in dims:
        if s not in symbol_to_dim:
            raise KeyError(f"unpack: symbol {s!r} of a packed tensor has no dim in "
                           f"symbol_to_dim {dict(symbol_to_dim)}")
    positions = [symbol_to_dim[s] for s in dims]
    ndim = -min(positions)
    order = sorted(range(len(dims)), key=lambda i: positions[i])
    shape = [1] * ndim
    for i in order:
        shape[positions[i] + ndim] = value.size(i)
    return value.permute(order).reshape(shape)


def broadcast_all(*values: Any, **kwargs: Any) -> tuple[torch.Tensor, ...]:
    """Expand packed tensors (and numbers) to a common set of named dims.

    :param values: packed tensors or numbers.
    :param str dims: optional keyword: the symbol order of the results (default: all
        symbols sorted).
    :returns: a tuple of expanded tensors labelled with the common ``_pyro_dims``.
    """
    dims = kwargs.pop("dims", None)
    if kwargs:
        raise TypeError(f"broadcast_all: unexpected keyword arguments {sorted(kwargs)}")
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    like = tensors[0] if tensors else torch.tensor(0.0)
    sizes: dict[str, int] = {}
    for v in tensors:
        for s, n in zip(dims_of(v), v.shape):
            if sizes.setdefault(s, n) != n:
                raise ValueError(f"broadcast_all: symbol {s!r} has sizes {sizes[s]} and {n}")
    if dims is None:
        dims = "".join(sorted(sizes))
    shape = [sizes[s] for s in dims]
    result = []
    for v in values:
        if not isinstance(v, torch.Tensor):
            v = torch.tensor(v, dtype=like.dtype, device=like.device)
        result.append(labelled(_align(v, dims_of(v), dims).expand(shape), dims))
    return tuple(result)


def exp(value: Any) -> Any:
    """Pointwise exponential of a packed tensor (or a number)."""
    if isinstance(value, torch.Tensor):
        return labelled(value.exp(), dims_of(value))
    return math.exp(value)


def neg(value: Any) -> Any:
    """Negation of a packed tensor (or a number)."""
    if isinstance(value, torch.Tensor):
        return labelled(-value, dims_of(value))
    return -value


def mul(lhs: Any, rhs: Any) -> Any:
    """Product of packed tensors (or numbers), broadcasting by symbol; the result's dims
    are the union of both, sorted."""
    if not isinstance(lhs, torch.Tensor) or not isinstance(rhs, torch.Tensor):
        result = lhs * rhs
        tensor = lhs if isinstance(lhs, torch.Tensor) else rhs
        return labelled(result, dims_of(tensor)) if isinstance(result, torch.Tensor) else result
    lhs_dims, rhs_dims = dims_of(lhs), dims_of(rhs)
    dims = "".join(sorted(set(lhs_dims) | set(rhs_dims)))
    result = _align(lhs, lhs_dims, dims) * _align(rhs, rhs_dims, dims)
    return labelled(result, dims)


def gather(value: torch.Tensor, index: torch.Tensor, dim: str) -> torch.Tensor:
    """Select entries of a packed tensor along its dim named ``dim`` by a packed integer
    ``index``: ``result[...] = value[..., dim=index[...]]``, broadcasting the other
    symbols of both.

    :param value: a packed tensor with symbol ``dim``.
    :param index: a packed integer tensor (its dims must not include ``dim``).
    :param dim: the symbol to index.
    :returns: a packed tensor over the sorted union of ``value``'s other symbols and
        ``index``'s symbols.
    :raises ValueError: if ``value`` has no dim named ``dim`` or ``index`` has it.
    """
    value_dims, index_dims = dims_of(value), dims_of(index)
    if dim not in value_dims:
        raise ValueError(f"gather: value with dims {value_dims!r} has no dim {dim!r}")
    if dim in index_dims:
        raise ValueError(f"gather: index with dims {index_dims!r} must not carry dim {dim!r}")
    dims = "".join(sorted((set(value_dims) - {dim}) | set(index_dims)))
    value = _align(value, value_dims, dims + dim)
    index = _align(index, index_dims, dims).unsqueeze(-1)
    batch = torch.broadcast_shapes(value.shape[:-1], index.shape[:-1])
    value = value.expand(batch + value.shape[-1:])
    index = index.expand(batch + (1,))
    return labelled(value.gather(-1, index).squeeze(-1), dims)


def rename_equation(equation: str, *operands: torch.Tensor) -> str:
    """Rename the symbols of an einsum / ubersum equation to the ``_pyro_dims`` of the
    packed ``operands`` (the ``i``-th input's letters become the ``i``-th operand's).

    Example: ``rename_equation("ab,bc->ac", x, y)`` with ``x._pyro_dims == "xy"`` and
    ``y._pyro_dims == "yz"`` gives ``"xy,yz->xz"``.

    :raises ValueError: for a wrong number of operands, an input whose length differs
        from its operand's dims, or a letter renamed two ways.
    """
    lhs, arrow, outputs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"rename_equation: {len(inputs)} inputs in {equation!r} but "
                         f"{len(operands)} operands")
    rename: dict[str, str] = {}
    for letters, operand in zip(inputs, operands):
        dims = dims_of(operand)
        if len(letters) != len(dims):
            raise ValueError(f"rename_equation: input {letters!r} of {equation!r} does not "
                             f"match an operand with dims {dims!r}")
        for old, new in zip(letters, dims):
            if rename.setdefault(old, new) != new:
                raise ValueError(f"rename_equation: {old!r} of {equation!r} would be renamed "
                                 f"to both {rename[old]!r} and {new!r}")
    renamed = ",".join("".join(rename[s] for s in letters) for letters in inputs)
    if arrow:
        renamed += "->" + "".join(rename.get(s, s) for s in outputs)
    return renamed


def scale_and_mask(
    tensor: torch.Tensor,
    scale: torch.Tensor | float = 1.0,
    mask: torch.Tensor | bool | None = None,
) -> torch.Tensor:
    """Scale and mask a packed tensor (e.g. a log density), skipping no-op work.

    Masked-out entries become exactly 0 (even where ``tensor`` is ``-inf`` or ``nan``).

    :param tensor: a packed tensor.
    :param scale: a number or a packed tensor of positive scales.
    :param mask: ``None``, a bool, or a packed bool tensor.
    :returns: a packed tensor over the sorted union of the symbols involved (``tensor``
        itself when there is nothing to do).
    """
    if not (isinstance(scale, numbers.Number) and scale == 1):
        tensor = mul(tensor, scale)
    if mask is None or mask is True:
        return tensor
    if mask is False:
        return labelled(torch.zeros_like(tensor), dims_of(tensor))
    tensor, mask = broadcast_all(tensor, mask)
    return labelled(torch.where(mask, tensor, tensor.new_zeros(())), dims_of(tensor))
