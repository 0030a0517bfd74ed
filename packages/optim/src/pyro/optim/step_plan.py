"""The step plan of a ``PyroOptim``: which torch optimizer steps which parameters of a call.

SVI hands its optimizer the same parameters, in the same order, at every step; the plan
(slots and their parameter lists) is built when the parameters change and reused otherwise,
so a step costs one identity comparison per parameter and one ``step()`` per torch
optimizer. :func:`step_optimizer` then calls torch's ``step`` without torch's per-call
wrapper (a profiler label, hook loops and a grad-mode switch) whenever that wrapper would do
nothing but cost time: no hook registered, no profiler running, not compiling.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.optim.optimizer as _torch_optimizer

from .grouping import TORCH_GROUPABLE, Slot

__all__ = ["StepPlan", "step_optimizer"]

_is = operator.is_
_MISSING: Any = object()


class StepPlan:
    """The cached ``[(slot, parameters)]`` of the last call's parameters."""

    __slots__ = ("entries", "_params", "_param_set")

    def __init__(self) -> None:
        self.entries: list[tuple[Slot, list[torch.Tensor]]] = []
        self._params: tuple[torch.Tensor, ...] | None = None
        self._param_set: set[torch.Tensor] | None = None

    def fits(self, params: list[torch.Tensor]) -> bool:
        """Whether ``params`` are the very tensors of the plan, in its order."""
        cached = self._params
        return (cached is not None and len(cached) == len(params)
                and all(map(_is, params, cached)))

    def rebuild(self, params: list[torch.Tensor],
                slot_for: Callable[[torch.Tensor], Slot]) -> None:
        """Plan ``params`` (each once, in order of first appearance); ``slot_for(p)`` gives
        a parameter's slot, admitting it when new. A shared slot's torch group is set to
        exactly the parameters of this call (torch keeps the state of the others, keyed by
        tensor, for when they come back)."""
        if self._param_set is not None and len(params) == len(self._param_set) \
                and set(params) == self._param_set:
            self._params = tuple(params)  # the same parameters in another order
            return
        seen: set[torch.Tensor] = set()
        by_slot: dict[Slot, list[torch.Tensor]] = {}
        for p in params:
            if p in seen:
                continue
            seen.add(p)
            by_slot.setdefault(slot_for(p), []).append(p)
        for slot, plist in by_slot.items():
            if slot.shared:
                slot.optimizer.param_groups[0]["params"] = plist
        self.entries = list(by_slot.items())
        self._params = tuple(params)
        self._param_set = seen

    def invalidate(self) -> None:
        self.entries = []
        self._params = None
        self._param_set = None

    def step(self, args: tuple, kwargs: Mapping[str, Any]) -> None:
        """Step every planned optimizer. Without a closure, a per-parameter slot whose
        parameter has no ``.grad`` is not stepped (its optimizer would see nothing); with
        one (LBFGS) the closure makes the gradients, so every optimizer steps."""
        skip_gradless = not (args or kwargs)
        for slot, plist in self.entries:
            if not slot.shared and skip_gradless and plist[0].grad is None:
                continue
            if slot.clip is not None:
                slot.clip(plist)
            step_optimizer(slot.optimizer, args, kwargs)


def _unwrapped_step(cls: type) -> Callable[[torch.optim.Optimizer], Any] | None:
    """``cls.step`` without torch's two wrappers (the profiling/hook wrapper and the
    grad-mode one), for torch's own per-parameter optimizers; ``None`` when ``cls.step``
    is not exactly that (another class, or a torch version that wraps it otherwise)."""
    if cls not in TORCH_GROUPABLE:
        return None
    outer = cls.__dict__.get("step")
    if outer is None or not getattr(outer, "hooked", False):
        return None
    inner = getattr(outer, "__wrapped__", None)
    if getattr(inner, "__code__", None) is not _USE_GRAD_CODE:
        return None
    return getattr(inner, "__wrapped__", None)


def _use_grad_code() -> Any:
    try:
        return _torch_optimizer._use_grad_for_differentiable(lambda *a: None).__code__
    except AttributeError:  # another torch: never unwrap
        return object()


_USE_GRAD_CODE = _use_grad_code()
_UNWRAPPED: dict[type, Callable[[torch.optim.Optimizer], Any] | None] = {}


def step_optimizer(optimizer: torch.optim.Optimizer, args: tuple = (),
                   kwargs: Mapping[str, Any] | None = None) -> Any:
    """``optimizer.step(*args, **kwargs)``, the same update; for a torch optimizer stepped
    with no arguments, no step hooks (its own or global), no profiler and no compiler
    running, and ``step`` not replaced on the instance (an LR scheduler's step counter),
    torch's unwrapped ``step`` is called under ``torch.no_grad()`` (what its wrappers would
    do), saving their per-call cost (a tenth of a tiny model's SVI step)."""
    cls = type(optimizer)
    raw = _UNWRAPPED.get(cls, _MISSING)
    if raw is _MISSING:
        raw = _UNWRAPPED[cls] = _unwrapped_step(cls)
    if (raw is None or args or kwargs or "step" in optimizer.__dict__
            or optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks
            or _torch_optimizer._global_optimizer_pre_hooks
            or _torch_optimizer._global_optimizer_post_hooks
            or optimizer.defaults.get("differentiable")
            or torch._C._autograd._profiler_enabled() or torch.compiler.is_compiling()):
        return optimizer.step(*args, **(kwargs or {}))
    with torch.no_grad():
        return raw(optimizer)

