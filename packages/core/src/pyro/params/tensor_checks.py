"""Checks of tensors read from files, before any torch kernel sees them.

``torch.load(weights_only=True)`` never runs code from a file, but it returns tensors
exactly as the file describes them: any shape, any dtype, zero strides (one element seen
a million times), overlapping memory, NaN. Some torch kernels trust their inputs (the
fused CPU Adam kernel reads ``exp_avg`` with the parameter's element count and crashes or
hangs on a smaller tensor), so every load path of Pyro (the ParamStore, optimizer and
scheduler state, checkpoints) checks each tensor against what it will be used for with
:func:`check_loaded_tensor` and uses the fresh contiguous copy it returns.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import torch

__all__ = ["check_loaded_tensor", "clean_message", "has_safe_layout"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def has_safe_layout(t: torch.Tensor) -> bool:
    """True if ``t`` is a strided tensor whose elements occupy distinct memory: no zero
    stride on a dimension of size > 1 and no two elements at one address."""
    if t.layout is not torch.strided or t.is_quantized:
        return False
    dims = sorted((st, sz) for st, sz in zip(t.stride(), t.shape) if sz > 1)
    reach = 1  # the smallest stride the next dimension may have without overlapping
    for st, sz in dims:
        if st < reach:
            return False
        reach = st * sz
    return True


def check_loaded_tensor(
    t: object,
    where: str,
    error: type[Exception],
    *,
    dtypes: Collection[torch.dtype] | None = None,
    floating: bool = False,
    shape: Sequence[int] | None = None,
    scalar: bool = False,
    finite: bool = False,
    no_nan: bool = False,
) -> torch.Tensor:
    """Check a tensor read from a file and return a contiguous copy that owns its memory.

    :param t: the object read from the file.
    :param where: the file and entry, for messages (``"'params.pt', parameter 'loc'"``).
    :param error: the exception class to raise.
    :param dtypes: the allowed dtypes (any real or complex dtype if ``None``).
    :param floating: require a floating point or complex dtype.
    :param shape: the required shape (e.g. that of the live parameter).
    :param scalar: require exactly one element (an optimizer's ``step``).
    :param finite: require every element to be finite.
    :param no_nan: require no NaN element (infinities allowed).
    :raises error: naming ``where`` and what is wrong.
    """
    if not isinstance(t, torch.Tensor):
        raise error(f"{where}: expected a tensor, got {type(t).__name__}")
    if t.layout is not torch.strided or t.is_quantized or t.device.type == "meta":
        raise error(f"{where}: a {t.layout} tensor on {t.device} cannot be used; only dense "
                    f"tensors with data are")
    if dtypes is not None and t.dtype not in dtypes:
        raise error(f"{where}: dtype {t.dtype} is not one of "
                    f"{', '.join(str(d) for d in dtypes)}")
    if floating and not (t.dtype.is_floating_point or t.dtype.is_complex):
        raise error(f"{where}: dtype {t.dtype} is not a floating point dtype")
    if not has_safe_layout(t):
        raise error(f"{where}: its memory layout (shape {tuple(t.shape)}, strides "
                    f"{t.stride()}) repeats or overlaps elements; a saved tensor never does, "
                    f"so the file is damaged or was not written by Pyro")
    if shape is not None and tuple(t.shape) != tuple(shape):
        raise error(f"{where}: shape {tuple(t.shape)} does not match the parameter's shape "
                    f"{tuple(shape)}")
    if scalar and t.numel() != 1:
        raise error(f"{where}: expected a single number, got shape {tuple(t.shape)}")
    if (finite or no_nan) and (t.dtype.is_floating_point or t.dtype.is_complex):
        bad = ~torch.isfinite(t) if finite else torch.isnan(t)
        if bool(bad.any()):
            what = "non-finite" if finite else "NaN"
            raise error(f"{where}: holds {int(bad.sum())} {what} value(s)")
    return t.detach().clone(memory_format=torch.contiguous_format)


def clean_message(e: BaseException) -> str:
    """A one-line description of ``e``: terminal colour codes removed, the first line of
    its message only (torch's loading errors run over many lines)."""
    text = _ANSI.sub("", str(e)).strip()
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(e).__name__}: {first}" if first else type(e).__name__
