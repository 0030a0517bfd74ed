"""Vectorized advanced indexing for tensors carrying batch, plate and enumeration dims.

``Vindex(x)[..., i, :, j]`` generalizes ``x[i, :, j]`` from integer indices to index
tensors that carry batch dimensions (plates, vectorized particles, enumeration dims). All
index tensors broadcast with each other and with the batch dims of ``x`` (the dims left of
the indexed ones, marked by a leading ``...``); dims indexed by ``:`` move to the right of
the result::

    x.shape == batch_shape + (I, J, K)
    Vindex(x)[..., i, :, k].shape == broadcast(batch_shape, i.shape, k.shape) + (J,)

Without a leading ``...``, ``x`` has no batch dims and ``len(args) <= x.dim()``: the dims
left unindexed on the right are taken whole (``Vindex(x)[i, j]`` is ``Vindex(x)[i, j, :]``
for a 3-dim ``x``, as with plain indexing). When no index is a tensor with ``dim() > 0``
the result equals ``x[args]``.

:func:`index` / :class:`Index` is the other helper here: ordinary indexing with nested
tuples flattened, so that an index built from parts (``x[..., t]`` where ``t`` may itself
be ``(Ellipsis, None)``) means what it says.

This is what a mixture model needs to select a component with an enumerated discrete
variable: ``Vindex(locs)[..., z]`` has shape ``z.shape`` whatever enumeration dims
``z`` carries.

**References**

[1] NumPy NEP 21, "Simplified and explicit advanced indexing" (``oindex`` / ``vindex``);
    the handling of ``...`` here (batch dims on the left only) differs from the NEP.
"""
from __future__ import annotations

from typing import Any

import torch

__all__ = ["Index", "Vindex", "index", "vindex"]


def _check_arg(arg: Any, position: int) -> None:
    if arg is Ellipsis:
        raise IndexError(
            f"vindex: Ellipsis may only appear as the first index (batch dims on the left), "
            f"found it at position {position}"
        )
    if isinstance(arg, slice):
        if arg != slice(None):
            raise IndexError(
                f"vindex: only the full slice ':' is supported, got {arg} at position "
                f"{position}; index with a tensor (torch.arange) to select a range"
            )
        return
    if isinstance(arg, torch.Tensor):
        if arg.dtype == torch.bool:
            raise IndexError(
                f"vindex: boolean mask indices are not supported (position {position}); "
                f"use an integer tensor, e.g. mask.nonzero()"
            )
        if arg.is_floating_point() or arg.is_complex():
            raise IndexError(
                f"vindex: index tensors must be integer, got dtype {arg.dtype} at position "
                f"{position}; call .long() on it"
            )
        return
    if isinstance(arg, bool) or not isinstance(arg, int):
        raise IndexError(
            f"vindex: unsupported index {arg!r} of type {type(arg).__name__} at position "
            f"{position}; use ..., ':', ints or integer tensors"
        )


def vindex(tensor: torch.Tensor, args: tuple[Any, ...]) -> torch.Tensor:
    """Vectorized advanced indexing with broadcasting (see the module docstring).

    :param tensor: a tensor of shape ``batch_shape + event_shape`` where ``event_shape``
        has one dim per index in ``args`` (after a leading ``...``).
    :param args: a tuple of indices: an optional leading ``Ellipsis``, then ints, full
        slices ``:`` and integer tensors.
    :returns: a tensor of shape ``broadcast(batch_shape, *index_shapes) + sliced_shape``
        where ``sliced_shape`` lists, in order, the sizes of the dims indexed by ``:``.
    :raises IndexError: on unsupported indices, a misplaced ``...``, more indices than
        ``tensor.dim()``, or index shapes that do not broadcast.
    """
    if not isinstance(args, tuple):
        args = (args,)
    if args and args[0] is Ellipsis:
        index_args = args[1:]
        event_dim = len(index_args)
        if event_dim > tensor.dim():
            raise IndexError(
                f"vindex: {event_dim} indices after ... but the tensor has shape "
                f"{tuple(tensor.shape)} ({tensor.dim()} dims)"
            )
    else:
        if len(args) > tensor.dim():
            raise IndexError(
                f"vindex: got {len(args)} indices for a tensor of shape "
                f"{tuple(tensor.shape)} ({tensor.dim()} dims); without a leading ... there "
                f"can be at most tensor.dim() indices (use Vindex(x)[..., i] to broadcast "
                f"over batch dims)"
            )
        # dims left unindexed on the right are taken whole, as by plain indexing
        index_args = args = args + (slice(None),) * (tensor.dim() - len(args))
        event_dim = len(index_args)
    for pos, arg in enumerate(index_args):
        _check_arg(arg, pos + (len(args) - len(index_args)))

    # Fast path: nothing batched, plain indexing is already right.
    if not any(isinstance(a, torch.Tensor) and a.dim() for a in index_args):
        if len(args) == len(index_args):
            return tensor[index_args]
        return tensor[(Ellipsis,) + index_args]

    batch_shape = tensor.shape[: tensor.dim() - event_dim]
    event_shape = tensor.shape[tensor.dim() - event_dim:]
    device = tensor.device
    index_shapes = [a.shape for a in index_args if isinstance(a, torch.Tensor)]
    try:
        result_batch = torch.broadcast_shapes(batch_shape, *index_shapes)
    except RuntimeError as e:
        raise IndexError(
            f"vindex: index shapes {[tuple(s) for s in index_shapes]} do not broadcast with "
            f"the batch shape {tuple(batch_shape)} of the indexed tensor: {e}"
        ) from None
    nb = len(result_batch)
    slice_sizes = [size for a, size in zip(index_args, event_shape) if isinstance(a, slice)]
    ns = len(slice_sizes)

    # Left-pad the batch dims of the tensor to nb dims (a view, no copy).
    x = tensor.reshape((1,) * (nb - len(batch_shape)) + tensor.shape)
    indices = []
    for p in range(nb):
        size = x.shape[p]
        shape = [1] * (nb + ns)
        shape[p] = size
        indices.append(torch.arange(size, device=device).reshape(shape))
    q = 0
    for arg, size in zip(index_args, event_shape):
        if isinstance(arg, slice):
            shape = [1] * (nb + ns)
            shape[nb + q] = size
            indices.append(torch.arange(size, device=device).reshape(shape))
            q += 1
        elif isinstance(arg, torch.Tensor):
            indices.append(arg.reshape((1,) * (nb - arg.dim()) + arg.shape + (1,) * ns))
        else:
            indices.append(torch.tensor(arg, device=device).reshape((1,) * (nb + ns)))
    return x[tuple(indices)]


class Vindex:
    """Convenience wrapper: ``Vindex(x)[args]`` is :func:`vindex` ``(x, args)``.

    Example (a mixture with an enumerated assignment ``z`` and a batch of locations)::

        locs = pyro.param("locs", torch.randn(3))          # shape (3,)
        z = pyro.sample("z", dist.Categorical(weights))    # shape (3, 1) when enumerated
        loc = Vindex(locs)[..., z]                          # shape (3, 1)
    """

    __slots__ = ("_tensor",)

    def __init__(self, tensor: torch.Tensor) -> None:
        self._tensor = tensor

    def __getitem__(self, args: Any) -> torch.Tensor:
        return vindex(self._tensor, args if isinstance(args, tuple) else (args,))


def _flatten(args: Any, out: list) -> None:
    if isinstance(args, tuple):
        for arg in args:
            _flatten(arg, out)
    elif args is Ellipsis and out and out[-1] is Ellipsis:
        pass  # consecutive Ellipses mean one
    else:
        out.append(args)


def index(tensor: torch.Tensor, args: Any) -> torch.Tensor:
    """Indexing with nested tuples: ``tensor[args]`` after flattening nested tuples and
    merging consecutive ``Ellipsis``.

    This lets one expression serve several interpretations of a part ``t`` of an index;
    ``index(x, (Ellipsis, t))`` is ``x[..., 1]`` for ``t = 1``, ``x[..., :]`` for
    ``t = slice(None)``, and ``x[..., None]`` (``x.unsqueeze(-1)``) for
    ``t = (Ellipsis, None)``, where plain indexing would fail on the nested tuple.

    :param tensor: a tensor to index.
    :param args: an index as given to ``__getitem__``, possibly with nested tuples.
    :returns: ``tensor[flattened args]``.
    :raises IndexError: as ``torch.Tensor.__getitem__`` does for the flattened index.
    """
    flat: list = []
    _flatten(args, flat)
    return tensor[tuple(flat)]


class Index:
    """Convenience wrapper: ``Index(x)[..., i, (Ellipsis, None)]`` is :func:`index`
    ``(x, (Ellipsis, i, (Ellipsis, None)))``.

    :param tensor: the tensor to index.
    """

    __slots__ = ("_tensor",)

    def __init__(self, tensor: torch.Tensor) -> None:
        self._tensor = tensor

    def __getitem__(self, args: Any) -> torch.Tensor:
        return index(self._tensor, args)
