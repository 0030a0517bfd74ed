"""Errors that name the sample site and the ``pyro.param`` behind an invalid distribution
parameter.

Under validation torch refuses a distribution whose parameters are outside their
constraints (``Normal(loc, scale)`` with a negative ``scale``) when it is built, which is
before ``pyro.sample`` sees it: the message names neither the site nor where the value
came from. Inference loops (``SVI.step``) pass such errors through
:func:`explain_invalid_parameter`, which, only when the error happens (nothing is added to
the hot path), reads the traceback for the source line that built the distribution (the
site's name is taken from the ``pyro.sample("name", ...)`` call there) and compares the
offending value with the constrained values of the parameters in the ParamStore.
"""
from __future__ import annotations

import linecache
import os
import re

import torch

__all__ = ["explain_invalid_parameter"]

_TORCH_MESSAGE = re.compile(
    r"Expected parameter (\w+) \(Tensor of shape \([^)]*\)\) of distribution (\w+)")
_SITE_CALL = re.compile(r"""sample\(\s*(f?)(["'])(.+?)\2""", re.S)
_LIBRARY_DIRS = tuple(
    os.path.join(os.sep, *parts) + os.sep
    for parts in (("torch", "distributions"), ("pyro", "distributions"))
)


def explain_invalid_parameter(error: BaseException) -> ValueError | None:
    """A ``ValueError`` naming the sample site (where the source shows it) and the
    ``pyro.param`` (where the value is one) for torch's "Expected parameter ... to satisfy
    the constraint ..." error, or ``None`` for any other error.

    :param error: the error raised while a model or guide ran.
    """
    if not isinstance(error, ValueError):
        return None
    message = str(error)
    m = _TORCH_MESSAGE.search(message)
    if m is None:
        return None
    arg, family = m.groups()
    value, where = _offending_value_and_caller(error, arg)
    parts = []
    site = _site_name(where) if where else None
    if site is not None:
        parts.append(f"sample site {site!r}")
    elif where is not None:
        parts.append(f"the distribution built at {where[0]}:{where[1]}")
    names = _matching_params(value) if value is not None else []
    origin = ""
    if names:
        quoted = " or ".join(f"pyro.param({n!r})" for n in names)
        origin = (f"; the value comes from {quoted}, which the optimizer may have moved out "
                  f"of the support: declare its constraint, e.g. pyro.param(name, init, "
                  f"constraint=constraints.positive), or lower the learning rate")
    head = " at ".join(parts)
    first = message.splitlines()[0].rstrip(":")
    return ValueError(f"{head + ': ' if head else ''}{family} parameter {arg!r} is invalid"
                      f"{origin}. {first}")


def _offending_value_and_caller(error: BaseException, arg: str):
    """The tensor torch refused, and ``(file, line)`` of the code that built the
    distribution (the frame just outside torch's and Pyro's distribution modules)."""
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    value = None
    for frame, _ in reversed(frames):
        obj = frame.f_locals.get("self")
        if isinstance(obj, torch.distributions.Distribution) and \
                isinstance(obj.__dict__.get(arg), torch.Tensor):
            value = obj.__dict__[arg]
            break
    caller = None
    for i, (frame, lineno) in enumerate(frames):
        if _is_library(frame.f_code.co_filename) and i > 0:
            prev, prev_line = frames[i - 1]
            caller = (prev.f_code.co_filename, prev_line)
            break
    return value, caller


def _is_library(filename: str) -> bool:
    return any(d in filename for d in _LIBRARY_DIRS)


def _site_name(where) -> str | None:
    filename, lineno = where
    lines = [linecache.getline(filename, n) for n in range(max(1, lineno - 3), lineno + 1)]
    found = _SITE_CALL.findall("".join(lines))
    if not found:
        return None
    return found[-1][2]  # as written (an f-string's name keeps its braces)


def _matching_params(value: torch.Tensor) -> list[str]:
    """Names of the ParamStore parameters whose constrained value ``value`` is (possibly
    broadcast)."""
    import pyro

    value = value.detach()
    names = []
    with torch.no_grad():
        for name in list(pyro.get_param_store().keys()):
            try:
                v = pyro.get_param_store()[name].detach()
                if v.numel() and v.dtype == value.dtype and _same(v.expand(value.shape), value):
                    names.append(name)
            except (RuntimeError, ValueError):
                continue  # not broadcastable to the value's shape
    return names


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    # NaN counts as equal to NaN: a parameter gone NaN is the common case
    return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())
