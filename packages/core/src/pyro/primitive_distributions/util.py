"""Small shape and masking helpers shared by every distribution and by the ELBOs.

These run per sample site, so each is written to do nothing when there is nothing to do.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch

__all__ = [
    "broadcast_shape",
    "broadcasts_to",
    "is_identically_one",
    "is_identically_zero",
    "log_prob_unchecked",
    "scalar_operand",
    "scale_and_mask",
    "shapes_broadcast",
    "sum_rightmost",
]


def broadcasts_to(shape: Sequence[int], target: Sequence[int]) -> bool:
    """Whether a tensor of ``shape`` broadcasts to exactly ``target`` (without enlarging it)."""
    target = torch.Size(target)
    if torch.Size(shape) == target:
        return True
    try:
        return torch.broadcast_shapes(shape, target) == target
    except RuntimeError:
        return False


def shapes_broadcast(shape: Sequence[int], other: Sequence[int]) -> bool:
    """Whether two shapes broadcast together (each aligned dim equal or 1): the rule of
    ``torch.broadcast_shapes`` for two shapes, without its overhead (checked per site)."""
    for i, j in zip(reversed(shape), reversed(other)):
        if i != j and i != 1 and j != 1:
            return False
    return True


def broadcast_shape(*shapes: Sequence[int], strict: bool = False) -> torch.Size:
    """Broadcast shapes (tuples of ints) following numpy/torch rules.

    With ``strict=True`` a size-1 dimension does not stretch to a larger size: dimensions are
    only added on the left ("extend but not resize").

    :returns: the broadcast shape as a :class:`torch.Size`.
    :raises ValueError: naming all shapes when they cannot be broadcast together.
    """
    reversed_shape: list = []
    for shape in shapes:
        for i, size in enumerate(reversed(shape)):
            size = int(size)
            if i >= len(reversed_shape):
                reversed_shape.append(size)
            elif reversed_shape[i] == 1 and not strict:
                reversed_shape[i] = size
            elif reversed_shape[i] != size and (size != 1 or strict):
                raise ValueError(
                    "shape mismatch: objects cannot be broadcast to a single shape: {}".format(
                        " vs ".join(str(tuple(s)) for s in shapes)
                    )
                )
    return torch.Size(reversed(reversed_shape))


def sum_rightmost(value, dim: int | float):
    """Sum out the ``dim`` rightmost dimensions of ``value``.

    ``dim == 0`` sums nothing; ``dim == float("inf")`` sums every dimension; a negative
    ``dim`` keeps the ``-dim`` leftmost dimensions and sums the rest. A Python number is
    returned unchanged.

    :param value: a tensor of shape ``batch_shape + event_shape`` (or a number).
    :returns: a tensor of shape ``value.shape[:-dim]``.
    """
    if not isinstance(value, torch.Tensor):
        return value
    if dim < 0:
        dim += value.dim()
    if dim == 0:
        return value
    if dim >= value.dim():
        return value.sum()
    return value.reshape(value.shape[: value.dim() - dim] + (-1,)).sum(-1)


def is_identically_zero(x) -> bool:
    """True when ``x`` is the Python number 0 (tensors are never inspected: that would sync)."""
    t = type(x)
    if t is float or t is int:  # the common cases, without the ABC isinstance check
        return x == 0
    return t is not torch.Tensor and isinstance(x, numbers.Number) and x == 0


def is_identically_one(x) -> bool:
    """True when ``x`` is the Python number 1 (tensors are never inspected)."""
    t = type(x)
    if t is float or t is int:
        return x == 1
    return t is not torch.Tensor and isinstance(x, numbers.Number) and x == 1


def scale_and_mask(tensor, scale=1.0, mask=None):
    """Multiply ``tensor`` by ``scale`` and zero the entries where ``mask`` is False.

    :param tensor: a tensor (or a number, e.g. a zero score-function term).
    :param scale: a number or a tensor broadcastable with ``tensor``.
    :param mask: ``None`` (keep all), a bool, or a bool tensor broadcastable with ``tensor``.
    :returns: ``tensor`` itself when ``scale == 1`` and ``mask is None``; otherwise a new
        tensor where masked-out entries are exactly zero (even when ``tensor`` is ``-inf`` or
        NaN there).
    """
    if mask is None or mask is True:
        if is_identically_one(scale) or is_identically_zero(tensor):
            return tensor
        if type(scale) is float and type(tensor) is torch.Tensor:
            return tensor * scalar_operand(scale, tensor)  # (a plate's subsample scale)
        return tensor * scale
    if mask is False:
        if isinstance(tensor, torch.Tensor):
            return torch.zeros_like(tensor)
        return 0.0
    if is_identically_zero(tensor):
        return tensor
    if not isinstance(tensor, torch.Tensor):
        tensor = mask.new_tensor(tensor, dtype=torch.get_default_dtype())
    if not is_identically_one(scale):
        tensor = tensor * scale
    return torch.where(mask, tensor, tensor.new_zeros(()))


def log_prob_unchecked(fn, value, *args, **kwargs):
    """``fn.log_prob(value, *args, **kwargs)`` with ``fn``'s own value check off, for a
    value already shown to be in its support (distributions it wraps keep theirs).
    ``fn``'s ``_validate_args`` is left as it was: an instance flag restored, a class
    default left unshadowed, also when ``log_prob`` raises."""
    if not fn._validate_args:
        return fn.log_prob(value, *args, **kwargs)
    state = fn.__dict__
    had_flag = "_validate_args" in state
    fn._validate_args = False
    try:
        return fn.log_prob(value, *args, **kwargs)
    finally:
        if had_flag:
            fn._validate_args = True
        else:
            del state["_validate_args"]


# (value, dtype[, device]) -> a 0-dim tensor holding value; bounded, cleared when full
_CPU_OPERANDS: dict[tuple[float, torch.dtype], torch.Tensor] = {}
_DEVICE_OPERANDS: dict[tuple[float, torch.dtype, torch.device], torch.Tensor] = {}
_OPERANDS_MAX = 64
# the dtypes whose kernels compute in their own precision (float16 / bfloat16 kernels
# read a Python scalar in float32, a 0-dim tensor in its own dtype)
_EXACT_OPERAND_DTYPES = frozenset((torch.float32, torch.float64))
_tracing_state = torch._C._get_tracing_state
_inference_mode = torch.is_inference_mode_enabled


def scalar_operand(value: float, like: torch.Tensor) -> torch.Tensor | float:
    """``value`` as an operand of an arithmetic op with ``like``: a cached 0-dim tensor of
    ``like``'s dtype and device, or ``value`` itself where that could differ.

    ``x - 1`` makes a wrapped-number tensor at each call (~2 us on CPU); ``x - t`` with
    such a 0-dim ``t`` of ``x``'s dtype gives the same values, dtype, shape and gradient
    (the op computes in that dtype either way). The number is returned as is for other
    dtypes, under a ``torch.jit`` tracer or compiler (the graph keeps a number) and in
    inference mode (its tensors cannot be saved for backward). The cached tensors are
    never handed out for in-place use: callers only read them.
    """
    dtype = like.dtype
    if dtype not in _EXACT_OPERAND_DTYPES or _tracing_state() is not None \
            or _inference_mode() or torch.compiler.is_compiling():
        return value
    if like.is_cpu:
        operand = _CPU_OPERANDS.get((value, dtype))
        if operand is None:
            if len(_CPU_OPERANDS) >= _OPERANDS_MAX:
                _CPU_OPERANDS.clear()
            operand = _CPU_OPERANDS[value, dtype] = torch.tensor(value, dtype=dtype)
        return operand
    device = like.device
    operand = _DEVICE_OPERANDS.get((value, dtype, device))
    if operand is None:
        if len(_DEVICE_OPERANDS) >= _OPERANDS_MAX:
            _DEVICE_OPERANDS.clear()
        operand = _DEVICE_OPERANDS[value, dtype, device] = torch.tensor(
            value, dtype=dtype, device=device)
    return operand
