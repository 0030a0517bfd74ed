"""Per-parameter gradient clipping for :class:`~pyro.optim.optim.PyroOptim` (``clip_args``).

``clip_args`` is ``{"clip_norm": c}`` (optionally with ``"norm_type": q``, default 2): each
parameter's gradient ``g`` is scaled by ``min(1, c / ||g||_q)``; or ``{"clip_value": c}``:
each element is clamped to ``[-c, c]``. Every parameter is clipped on its own, in
per-parameter and in grouped mode alike, with the same arithmetic (so the two modes agree
bit for bit).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

ClipFn = Callable[[list[torch.Tensor]], None]

_KEYS = ("clip_norm", "clip_value", "norm_type")


def check_clip_args(clip_args: Mapping[str, Any], where: str) -> dict:
    """Validate a ``clip_args`` dict and return a plain copy.

    :raises ValueError: unknown keys, both or neither of ``clip_norm`` / ``clip_value``, or a
        non-positive threshold.
    """
    if not isinstance(clip_args, Mapping):
        raise TypeError(f"clip_args for {where} must be a dict, got {type(clip_args).__name__}")
    unknown = set(clip_args) - set(_KEYS)
    if unknown:
        raise ValueError(
            f"clip_args for {where} has unknown keys {sorted(unknown)}; "
            f"use 'clip_norm' (with optional 'norm_type') or 'clip_value'"
        )
    has_norm, has_value = "clip_norm" in clip_args, "clip_value" in clip_args
    if has_norm == has_value:
        raise ValueError(
            f"clip_args for {where} must give exactly one of 'clip_norm' and 'clip_value', "
            f"got {dict(clip_args)}"
        )
    threshold = float(clip_args["clip_norm" if has_norm else "clip_value"])
    if not threshold > 0:
        raise ValueError(f"clip_args for {where}: the threshold must be > 0, got {threshold}")
    if has_value and "norm_type" in clip_args:
        raise ValueError(f"clip_args for {where}: 'norm_type' only goes with 'clip_norm'")
    return dict(clip_args)


def make_clipper(clip_args: Mapping[str, Any] | None) -> ClipFn | None:
    """Build ``clip(params)`` that clips, in place, the gradient of each parameter in the list
    (parameters whose ``.grad`` is ``None`` are skipped); ``None`` when there is nothing to do."""
    if not clip_args:
        return None
    if "clip_value" in clip_args:
        value = float(clip_args["clip_value"])

        def clip_value(params: list[torch.Tensor]) -> None:
            for p in params:
                g = _grad_values(p)
                if g is not None:
                    g.clamp_(-value, value)

        return clip_value

    max_norm = float(clip_args["clip_norm"])
    norm_type = float(clip_args.get("norm_type", 2.0))
    if math.isinf(max_norm):
        return None

    def clip_norm(params: list[torch.Tensor]) -> None:
        for p in params:
            g = _grad_values(p)
            if g is None:
                continue
            norm = torch.linalg.vector_norm(g, norm_type)
            # min(1, c / ||g||) without a host sync: c / max(||g||, c)
            g.mul_(max_norm / norm.clamp(min=max_norm))

    return clip_norm


def _grad_values(p: torch.Tensor) -> torch.Tensor | None:
    """The gradient's storage to clip in place: the dense gradient, or the values of a
    (coalesced, written back) sparse one; ``None`` when the parameter has no gradient."""
    g = p.grad
    if g is None or not g.is_sparse:
        return g
    if not g.is_coalesced():
        g = g.coalesce()
        p.grad = g
    return g._values()
