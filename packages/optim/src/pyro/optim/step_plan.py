"""The step plan of a ``PyroOptim``: which torch optimizer steps which parameters of a call.

SVI hands its optimizer the same parameters, in the same order, at every step; the plan
(slots and their parameter lists) is built when the parameters change and reused otherwise,
so a step costs one identity comparison per parameter and one ``step()`` per torch
optimizer. :func:`step_optimizer` then calls torch's ``step`` without torch's per-call
wrapper (a profiler label, hook loops and a grad-mode switch) whenever that wrapper would do
nothing but cost time: no hook registered, no profiler running, not compiling.

For torch's ``Adam`` / ``AdamW`` with ``fused=True`` (PyroOptim's default for them), a step
whose state already exists calls the fused kernel (``torch._fused_adam_`` /
``torch._fused_adamw_``) directly with the optimizer's own state tensors, as
``Adam.step`` would after its bookkeeping (state lookup per parameter, grouping by device
and dtype, the functional API's dispatch): the same kernel on the same tensors, so the
parameters and ``state_dict()`` are bit-identical to ``optimizer.step()``'s. Anything that
path does not cover (a first step, tensor ``lr`` or betas, AMP's ``grad_scale``, mixed
devices or dtypes, sparse gradients, a subclass) goes through ``Adam.step`` itself.

Those kernel arguments are remembered per optimizer (:class:`_FusedPlan`) and, at each
step, re-read from the optimizer by C-level ``map`` calls and checked against what was
remembered (the ``state`` and ``param_groups`` objects, each group and its parameter list,
every parameter with a gradient, one dtype); the group settings (``lr``, betas, ...) are
read afresh at every step. Anything else (a parameter added, state loaded, a gradient
missing) rebuilds the plan from the optimizer. The step counts of a group's parameters,
one 0-dim tensor each, are made to share one buffer (each tensor keeps its identity and
value; its storage becomes an element of the buffer), so that a step of the whole group
advances them by one ``add_`` instead of ``torch._foreach_add_`` over as many tensors
(which on a CPU is one kernel launch per tensor); a step of part of a group still uses
``torch._foreach_add_`` on those tensors.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any

import torch
import torch.optim.optimizer as _torch_optimizer

from .grouping import TORCH_GROUPABLE, Slot

__all__ = ["StepPlan", "step_optimizer"]

_is = operator.is_


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
    grad-mode one), for torch's own per-parameter optimizers (AdamW's is the ``step`` it
    inherits from Adam); ``None`` when ``cls.step`` is not exactly that (another class,
    or a torch version that wraps it otherwise)."""
    if cls not in TORCH_GROUPABLE:
        return None
    outer = getattr(cls, "step", None)
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


def _innermost(fn: Any) -> Any:
    while getattr(fn, "__wrapped__", None) is not None:
        fn = fn.__wrapped__
    return fn


_USE_GRAD_CODE = _use_grad_code()
#: torch's own ``Adam.step`` and ``Adam._init_group`` (AdamW inherits both)
_ADAM_STEP = _innermost(torch.optim.Adam.step)
_ADAM_INIT_GROUP = getattr(torch.optim.Adam, "_init_group", None)
_HAS_FUSED_KERNELS = all(hasattr(torch, k) for k in ("_fused_adam_", "_fused_adamw_",
                                                     "_foreach_add_"))


def _step_functions(cls: type) -> tuple[Callable[[torch.optim.Optimizer], Any] | None, bool]:
    """``cls``'s unwrapped step, and whether it is torch's Adam step (fused kernel
    callable directly)."""
    raw = _unwrapped_step(cls)
    fused = (raw is not None and raw is _ADAM_STEP and _HAS_FUSED_KERNELS
             and issubclass(cls, torch.optim.Adam)
             and getattr(cls, "_init_group", None) is _ADAM_INIT_GROUP)
    return raw, fused


_UNWRAPPED: dict[type, tuple[Callable[[torch.optim.Optimizer], Any] | None, bool]] = {}


_GRAD = operator.attrgetter("grad")
_DTYPE = operator.attrgetter("dtype")
_IS_SPARSE = operator.attrgetter("is_sparse")
_EXP_AVG = operator.itemgetter("exp_avg")
_EXP_AVG_SQ = operator.itemgetter("exp_avg_sq")
_MAX_EXP_AVG_SQ = operator.itemgetter("max_exp_avg_sq")
_STEP = operator.itemgetter("step")
_DATA_PTR = torch.Tensor.data_ptr
_PLAN_ATTR = "_pyro_fused_plan"  # where an optimizer keeps its plan (not in its state_dict)
#: the group settings a fused Adam / AdamW step reads (see _settings)
_SETTING_KEYS = ("fused", "differentiable", "lr", "betas", "decoupled_weight_decay",
                 "amsgrad", "weight_decay", "eps", "maximize")


def _settings(group: dict) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """A group's kernel and its keyword arguments, read from the group now; ``None`` when
    ``Adam.step`` would not call the fused kernel with numbers."""
    if group["fused"] is not True or group["differentiable"]:
        return None
    lr, (beta1, beta2) = group["lr"], group["betas"]
    if isinstance(lr, torch.Tensor) or isinstance(beta1, torch.Tensor) \
            or isinstance(beta2, torch.Tensor):
        return None
    kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
    return kernel, {"amsgrad": group["amsgrad"], "lr": lr, "beta1": beta1, "beta2": beta2,
                    "weight_decay": group["weight_decay"], "eps": group["eps"],
                    "maximize": group["maximize"], "grad_scale": None, "found_inf": None}


# (kernel, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, keyword arguments)
_Update = tuple[Callable[..., Any], list[torch.Tensor], list[torch.Tensor],
                list[torch.Tensor], list[torch.Tensor], list[torch.Tensor],
                list[torch.Tensor], dict[str, Any]]


def _fused_adam_updates(optimizer: torch.optim.Optimizer) -> list[_Update] | None:
    """What ``Adam.step`` would hand the fused kernel, group by group: the parameters with
    a ``.grad``, their gradients and state tensors, and the group's settings; ``None``
    when that step would do anything else (see the module docstring)."""
    if getattr(optimizer, "grad_scale", None) is not None \
            or getattr(optimizer, "found_inf", None) is not None:
        return None
    state = optimizer.state
    updates: list[_Update] = []
    try:
        for group in optimizer.param_groups:
            found = _settings(group)
            if found is None:
                return None
            kernel, settings = found
            amsgrad = settings["amsgrad"]
            params: list[torch.Tensor] = []
            grads: list[torch.Tensor] = []
            exp_avgs: list[torch.Tensor] = []
            exp_avg_sqs: list[torch.Tensor] = []
            max_sqs: list[torch.Tensor] = []
            steps: list[torch.Tensor] = []
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                s = state.get(p)
                if not s or grad.is_sparse:  # a first step (lazy state), or torch's error
                    return None
                params.append(p)
                grads.append(grad)
                exp_avgs.append(s["exp_avg"])
                exp_avg_sqs.append(s["exp_avg_sq"])
                steps.append(s["step"])
                if amsgrad:
                    max_sqs.append(s["max_exp_avg_sq"])
            if not params:
                continue
            if len(params) > 1:  # torch calls the kernel once per (device, dtype)
                device, dtype = params[0].device, params[0].dtype
                if not all(p.dtype is dtype and p.device == device for p in params):
                    return None
            updates.append((kernel, params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps,
                            settings))
    except KeyError:  # state or settings torch's step would not find either: its error
        return None
    return updates


def _pack_steps(steps: list[torch.Tensor]) -> torch.Tensor | None:
    """Make the step counts ``steps`` (distinct 0-dim tensors of one dtype and device, at
    least two) elements of one new buffer, each tensor keeping its identity and value;
    returns the buffer (``buffer.add_(1)`` then advances them all), or ``None`` when they
    are not such tensors."""
    if len(steps) < 2 or len({id(s) for s in steps}) != len(steps):
        return None
    first = steps[0]
    if any(s.dim() != 0 or s.dtype != first.dtype or s.device != first.device
           or s.requires_grad or s.is_sparse for s in steps):
        return None
    with torch.no_grad():
        buffer = torch.stack(steps)
        storage = buffer.untyped_storage()
        for i, s in enumerate(steps):
            s.set_(storage, i, (), ())
    return buffer


class _FusedGroup:
    """The remembered kernel arguments of one parameter group."""

    __slots__ = ("group", "params", "dtype", "amsgrad", "steps", "buffer", "addresses",
                 "values", "found")

    def __init__(self, group: dict, steps: list[torch.Tensor]) -> None:
        self.group = group
        self.params = tuple(group["params"])
        self.dtype = self.params[0].dtype
        self.amsgrad = group["amsgrad"]
        # the group's settings as last read (objects), and the kernel call they give
        self.values: tuple = ()
        self.found: tuple[Callable[..., Any], dict[str, Any]] | None = None
        self.buffer = _pack_steps(steps)
        self.steps = tuple(steps) if self.buffer is not None else None
        self.addresses = tuple(map(_DATA_PTR, steps)) if self.buffer is not None else ()


class _FusedPlan:
    """What a fused ``Adam`` / ``AdamW`` step hands its kernel, remembered between steps
    (see the module docstring): :meth:`updates` re-reads the arguments and gives them with
    the shared step buffer of each group, or ``None`` when anything it remembers changed
    or a gradient is missing."""

    __slots__ = ("state", "param_groups", "groups", "entries")

    def __init__(self, optimizer: torch.optim.Optimizer, updates: list[_Update]) -> None:
        self.state = optimizer.state
        self.param_groups = optimizer.param_groups
        self.groups = tuple(self.param_groups)
        # (one update per group with parameters, in order: see build)
        self.entries = tuple(_FusedGroup(g, u[6]) for g, u in
                             zip([g for g in self.groups if g["params"]], updates))

    @staticmethod
    def build(optimizer: torch.optim.Optimizer, updates: list[_Update]) -> None:
        """Remember ``updates`` (made by :func:`_fused_adam_updates`) when they step every
        parameter of every group; otherwise keep the plan as it is (a step of some
        parameters only changes nothing that a later full step would need)."""
        groups = [g for g in optimizer.param_groups if g["params"]]
        if len(updates) != len(groups) or any(
                len(u[1]) != len(g["params"]) or any(map(operator.is_not, u[1], g["params"]))
                for u, g in zip(updates, groups)):
            return
        optimizer.__dict__[_PLAN_ATTR] = _FusedPlan(optimizer, updates)

    def updates(self, optimizer: torch.optim.Optimizer) -> list[tuple] | None:
        """The kernel arguments of this step, each with the group's step buffer (``None``
        for a group whose counts are not packed), or ``None``."""
        groups = self.param_groups
        if optimizer.state is not self.state or optimizer.param_groups is not groups \
                or len(groups) != len(self.groups) or not all(map(operator.is_, groups,
                                                                   self.groups)):
            return None
        get_state = self.state.get
        out = []
        for entry in self.entries:
            group = entry.group
            params = group["params"]
            if len(params) != len(entry.params) or not all(map(operator.is_, params,
                                                               entry.params)):
                return None
            try:
                values = tuple(map(group.__getitem__, _SETTING_KEYS))
                if len(values) != len(entry.values) or type(values[3]) is not tuple \
                        or not all(map(operator.is_, values, entry.values)):
                    # (betas given as a list may change in place: read at every step)
                    # a setting changed (e.g. a scheduler's lr): its kernel call read anew
                    entry.values, entry.found = values, _settings(group)
            except KeyError:  # a setting removed: torch's step (and its error)
                return None
            found = entry.found
            if found is None or found[1]["amsgrad"] != entry.amsgrad:
                return None
            grads = list(map(_GRAD, params))
            try:
                if any(map(_IS_SPARSE, grads)):  # (torch's error)
                    return None
            except AttributeError:  # a parameter without a gradient
                return None
            if not all(map(operator.is_, map(_DTYPE, params), repeat(entry.dtype))):
                return None
            states: list[Any] = list(map(get_state, params))  # (None: no state yet)
            try:
                exp_avgs = list(map(_EXP_AVG, states))
                exp_avg_sqs = list(map(_EXP_AVG_SQ, states))
                max_sqs = list(map(_MAX_EXP_AVG_SQ, states)) if entry.amsgrad else []
                steps = list(map(_STEP, states))
            except (KeyError, TypeError):  # a parameter without state: torch's step
                return None
            packed = entry.steps
            if packed is not None and not (
                    all(map(operator.is_, steps, packed))
                    and all(map(operator.eq, map(_DATA_PTR, steps), entry.addresses))):
                # a step count replaced or moved (e.g. packed by another optimizer that
                # loaded the same state): packed again by the rebuilt plan
                return None
            kernel, settings = found
            out.append((kernel, params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps,
                        settings, entry.buffer))
        return out


_HEALTH_CHECK = getattr(torch.optim.Optimizer, "_accelerator_graph_capture_health_check", None)
_CAPTURE_POSSIBLE: list[bool] = []  # computed at the first fused step


def _capture_possible() -> bool:
    """Whether a CUDA / XPU accelerator is available (its stream may be capturing a graph);
    fixed for the process, so asked once."""
    if not _CAPTURE_POSSIBLE:
        try:
            accelerator = torch.accelerator.current_accelerator(check_available=True)
            possible = accelerator is not None and accelerator.type in {"cuda", "xpu"}
        except (AttributeError, RuntimeError):  # another torch: always run torch's check
            possible = True
        _CAPTURE_POSSIBLE.append(possible)
    return _CAPTURE_POSSIBLE[0]


def _step_fused_adam(optimizer: torch.optim.Optimizer) -> bool:
    """One step of a fused ``Adam`` / ``AdamW`` by its kernel; False (nothing done) when
    ``Adam.step`` is needed."""
    if getattr(optimizer, "grad_scale", None) is not None \
            or getattr(optimizer, "found_inf", None) is not None:
        return False
    plan = optimizer.__dict__.get(_PLAN_ATTR)
    updates = plan.updates(optimizer) if plan is not None else None
    if updates is None:
        general = _fused_adam_updates(optimizer)
        if general is None:
            return False
        _FusedPlan.build(optimizer, general)
        plan = optimizer.__dict__.get(_PLAN_ATTR)
        updates = plan.updates(optimizer) if plan is not None else None
        if updates is None:
            updates = [u + (None,) for u in general]
    # (what Adam.step checks first: no CUDA graph capture of a non-capturable optimizer;
    # torch's check does nothing where no CUDA / XPU accelerator is available)
    if _capture_possible() or "_accelerator_graph_capture_health_check" in optimizer.__dict__ \
            or type(optimizer)._accelerator_graph_capture_health_check is not _HEALTH_CHECK:
        optimizer._accelerator_graph_capture_health_check()
    grad_enabled = torch.is_grad_enabled()
    torch._C._set_grad_enabled(False)
    try:
        for kernel, params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps, settings, \
                buffer in updates:
            if buffer is not None:
                buffer.add_(1)  # every step count of the group, one kernel
            else:
                torch._foreach_add_(steps, 1)
            kernel(params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps, **settings)
    finally:
        torch._C._set_grad_enabled(grad_enabled)
    return True


def step_optimizer(optimizer: torch.optim.Optimizer, args: tuple = (),
                   kwargs: Mapping[str, Any] | None = None) -> Any:
    """``optimizer.step(*args, **kwargs)``, the same update; for a torch optimizer stepped
    with no arguments, no step hooks (its own or global), no profiler and no compiler
    running, and ``step`` not replaced on the instance (an LR scheduler's step counter),
    torch's unwrapped ``step`` is called under ``torch.no_grad()`` (what its wrappers would
    do), saving their per-call cost (a tenth of a tiny model's SVI step), and a fused
    ``Adam`` / ``AdamW`` calls its kernel directly where it can (see the module
    docstring)."""
    cls = type(optimizer)
    functions = _UNWRAPPED.get(cls)
    if functions is None:
        functions = _UNWRAPPED[cls] = _step_functions(cls)
    raw, fused = functions
    if (raw is None or args or kwargs or "step" in optimizer.__dict__
            or optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks
            or _torch_optimizer._global_optimizer_pre_hooks
            or _torch_optimizer._global_optimizer_post_hooks
            or optimizer.defaults.get("differentiable")
            or torch._C._autograd._profiler_enabled() or torch.compiler.is_compiling()):
        return optimizer.step(*args, **(kwargs or {}))
    if fused and _step_fused_adam(optimizer):
        return None  # (what Adam.step returns without a closure)
    with torch.no_grad():
        return raw(optimizer)

