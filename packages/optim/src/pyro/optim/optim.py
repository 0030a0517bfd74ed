"""``PyroOptim``: torch optimizers for parameters that appear while a model runs."""
from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import torch

from .clipping import ClipFn, check_clip_args, make_clipper
from .grouping import Slot, SlotTable, freeze, is_groupable
from .state_io import (
    OptimStateError,
    check_optim_state,
    check_param_entry,
    load_state,
    merge_settings,
    recordable_settings,
    save_state,
)
from .step_plan import StepPlan

#: ``optim_args`` / ``clip_args``: a dict, or a callable ``(module_name, param_name) -> dict``
#: or ``(param_name) -> dict`` (see :func:`per_param_arguments`).
ArgsOrCallable = Mapping[str, Any] | Callable[..., Mapping[str, Any]]

#: torch optimizers whose fused kernel PyroOptim uses unless told otherwise
#: (``fused=`` or ``foreach=`` in the optimizer's settings).
_FUSED_BY_DEFAULT = frozenset({torch.optim.Adam, torch.optim.AdamW})


class PyroOptim:
    """A wrapper for ``torch.optim.Optimizer`` objects that manages dynamically generated
    parameters.

    A Pyro program creates its parameters while it runs (``pyro.param``, ``pyro.module``),
    possibly different ones at different steps, so the optimizer cannot be given its
    parameters up front. Calling ``optim(params)`` (SVI does it every step, after
    ``loss.backward()``) steps every parameter in ``params``; state is created the first
    time a parameter is seen. Parameters whose ``.grad`` is ``None`` are not updated. The
    caller zeroes the gradients afterwards.

    **Modes.** In *per-parameter* mode (Pyro's) each parameter gets its own torch optimizer.
    In *grouped* mode one torch optimizer is kept per distinct setting, and each newly seen
    parameter joins the one of its setting, so a step is one ``optimizer.step()`` per setting
    instead of one per parameter. Grouping gives exactly the numbers of per-parameter mode
    and is only used where that holds (see :mod:`pyro.optim.grouping`: LBFGS and
    ``ClippedAdam`` with ``lrd != 1`` always run per parameter). Grouped is the default when
    ``optim_args`` is a dict; pass ``grouped=True`` to also group by the settings a callable
    returns, or ``grouped=False`` for per-parameter mode.

    **State.** :meth:`get_state` returns a dict keyed by parameter *name* (the ParamStore's),
    each value the ``state_dict()`` of a one-parameter torch optimizer, so it survives a
    process restart and is the same in both modes. :meth:`set_state` / :meth:`load` apply a
    parameter's state when the parameter is next seen (at once for a parameter already
    seen). Resuming from ``ParamStore`` + optimizer state continues the computation exactly.

    :param optim_constructor: a ``torch.optim.Optimizer`` subclass (or any callable
        ``constructor(params, **settings)`` returning one).
    :param optim_args: the constructor's keyword arguments: a dict, or a callable
        returning one, called once per parameter with its ParamStore names: a callable of
        two parameters gets ``(module_name, param_name)`` (the name twice for a parameter
        outside ``pyro.module``), any other gets the one name ``"module.param"``
        (:func:`per_param_arguments`).
    :param clip_args: optional gradient clipping applied to each parameter before its step:
        ``{"clip_norm": c}`` (optional ``"norm_type"``) or ``{"clip_value": c}``, or a
        callable like ``optim_args`` returning such a dict or ``None``.
    :param grouped: ``None`` (grouped when ``optim_args`` is a dict), ``True`` or ``False``.
    :raises TypeError: if ``optim_constructor`` is an optimizer instance or not callable, or
        ``optim_args`` is neither a dict nor callable.
    """

    #: ``optim(params)`` also takes a dict ParamStore name -> tensor (SVI passes one)
    accepts_param_names = True

    def __init__(
        self,
        optim_constructor: Callable[..., torch.optim.Optimizer],
        optim_args: ArgsOrCallable,
        clip_args: ArgsOrCallable | None = None,
        grouped: bool | None = None,
    ) -> None:
        if isinstance(optim_constructor, torch.optim.Optimizer) or not callable(
            optim_constructor
        ):
            raise TypeError(
                f"PyroOptim needs an optimizer class such as torch.optim.Adam, got "
                f"{optim_constructor!r}; pass the class, not an instance"
            )
        if isinstance(optim_args, Mapping):
            optim_args = dict(optim_args)
        elif not callable(optim_args):
            raise TypeError(
                f"optim_args must be a dict of {_ctor_name(optim_constructor)} arguments or a "
                f"callable (module_name, param_name) -> dict, got {type(optim_args).__name__}"
            )
        if isinstance(clip_args, Mapping):
            clip_args = check_clip_args(clip_args, _ctor_name(optim_constructor))
        elif clip_args is not None and not callable(clip_args):
            raise TypeError(
                f"clip_args must be None, a dict or a callable (module_name, param_name) -> "
                f"dict, got {type(clip_args).__name__}"
            )
        self.pt_optim_constructor = optim_constructor
        self.pt_optim_args = optim_args
        self.pt_clip_args = clip_args
        self.grouped = isinstance(optim_args, dict) if grouped is None else bool(grouped)
        if grouped and isinstance(optim_args, dict):
            if not is_groupable(self._optimizer_constructor, optim_args):
                warnings.warn(
                    f"{_ctor_name(self._optimizer_constructor)} with settings {optim_args} cannot "
                    f"be grouped without changing its numbers; it runs one optimizer per "
                    f"parameter (see pyro.optim.grouping)",
                    stacklevel=2,
                )
        # constant parts of dict arguments, computed once
        self._frozen_args = freeze(optim_args) if isinstance(optim_args, dict) else None
        self._frozen_clip = freeze(clip_args) if not callable(clip_args) else None
        self._dict_clipper = make_clipper(clip_args) if not callable(clip_args) else None

        # the slots of both modes (pyro.optim.grouping) and the cached step plan
        self._table = SlotTable()
        self._slots = self._table.slots  # read by the scheduler wrappers
        self._open = self._table.open
        self._name_of: dict[torch.Tensor, str | None] = {}
        self._tensor_of: dict[str, torch.Tensor] = {}
        self._pending: dict[str, dict] = {}  # state waiting for its parameter to appear
        # where each pending entry came from and whether its settings are to be restored
        self._pending_meta: dict[str, tuple[str, bool]] = {}
        self._plan = StepPlan()

    # ------------------------------------------------------------------------- stepping

    @property
    def _optimizer_constructor(self) -> Callable[..., torch.optim.Optimizer]:
        return self.pt_optim_constructor

    def __call__(self, params: Iterable[torch.Tensor] | Mapping[str, torch.Tensor], *args: Any,
                 **kwargs: Any) -> None:
        """Step every parameter in ``params`` (unconstrained leaf tensors, each with
        ``.grad``; or a dict ParamStore name -> such tensor, as :class:`~pyro.infer.SVI`
        passes them, which spares looking the names up in the ParamStore);
        ``*args, **kwargs`` go to each torch optimizer's ``step`` (e.g. the
        ``closure`` of LBFGS). Without a closure, parameters whose ``.grad`` is ``None``
        are not stepped; with one, every optimizer steps and runs the closure (per-parameter
        L-BFGS: the closure must recompute the loss and the gradients of all parameters).

        :raises ValueError: if a parameter cannot be given an optimizer (its settings are
            rejected by the constructor, or a callable ``optim_args`` needs the name of a
            tensor that is not in the ParamStore).
        """
        if type(params) is dict or isinstance(params, Mapping):  # (SVI's dict: no ABC check)
            names: Mapping[str, torch.Tensor] | None = params
            plist = list(params.values())
        else:
            names = None
            plist = params if type(params) is list else list(params)
        plan = self._plan
        if not plan.fits(plist):
            name_of = {id(p): n for n, p in names.items()} if names is not None else None

            def slot_for(p: torch.Tensor) -> Slot:
                slot = self._table.slot_of.get(p)
                if slot is None:
                    slot = self._admit(p, name_of[id(p)] if name_of is not None else _LOOK_UP)
                return slot

            plan.rebuild(plist, slot_for)
        plan.step(args, kwargs)

    def _admit(self, p: torch.Tensor, name: Any = None) -> Slot:
        """Give a newly seen parameter its optimizer: join the open shared slot of its
        setting, or make a new slot; apply state waiting under its name (``_LOOK_UP``:
        the caller passed no names, so it is looked up in the ParamStore)."""
        if not isinstance(p, torch.Tensor):
            raise TypeError(
                f"PyroOptim expects the unconstrained parameter tensors, got {type(p).__name__}"
            )
        if name is _LOOK_UP:
            name = _param_store_name(p)
        if name is not None:
            old = self._tensor_of.get(name)
            if old is not None and old is not p:
                self._forget(old)  # the store holds a new tensor under this name
            self._tensor_of[name] = p
        self._name_of[p] = name
        settings = self._settings_for(p, name)
        clip_args, clipper, frozen_clip = self._clip_for(p, name)
        entry = self._pending.get(name) if name is not None else None
        if entry is not None:
            slot = self._admit_loaded(p, name, settings, entry, clipper, frozen_clip)
            del self._pending[name]  # consumed (kept if anything above raised)
            self._pending_meta.pop(name, None)
        else:
            frozen = self._frozen_args if self._frozen_args is not None else freeze(settings)
            key: Hashable = ("fresh", frozen, frozen_clip)
            shared = self.grouped and is_groupable(self._optimizer_constructor, settings)
            joined = self._table.joinable(key, shared)
            if joined is not None:
                slot = joined
                if slot.eager_state:
                    # build this parameter's initial state the way its own optimizer would
                    donor = self._new_optimizer(p, settings, name)
                    state = donor.state.get(p)
                    if state:
                        slot.optimizer.state[p] = state
            else:
                optimizer = self._new_optimizer(p, settings, name)
                scheduler = self._new_scheduler(optimizer, name)
                slot = self._new_slot(optimizer, scheduler, shared, key, clipper, settings)
        self._table.assign(p, slot)
        return slot

    def _admit_loaded(self, p: torch.Tensor, name: str, settings: Mapping[str, Any],
                      entry: dict, clipper: ClipFn | None, frozen_clip: Hashable) -> Slot:
        """Give a parameter with loaded state its optimizer: every tensor of the state is
        checked against ``p`` before the optimizer sees it, and the user's settings win
        over the file's (:func:`~pyro.optim.state_io.merge_settings`)."""
        source, restore = self._pending_meta.get(name, ("PyroOptim.set_state()", False))
        optimizer = self._new_optimizer(p, settings, name)
        scheduler = self._new_scheduler(optimizer, name)
        _check_saved_by(optimizer, entry, name)
        entry = check_param_entry(entry, name, source, p, type(optimizer).__name__)
        group = optimizer.param_groups[0]
        merged = merge_settings(group, entry, settings, restore,
                                f"{source}, parameter {name!r}")
        _load_optimizer(optimizer, {"state": entry["state"],
                                    "param_groups": [{**merged, "params": [0]}]}, name)
        if scheduler is not None and entry.get("scheduler") is not None:
            _load_scheduler(scheduler, entry["scheduler"], name)
            if "initial_lr" in merged and isinstance(getattr(scheduler, "base_lrs", None), list):
                # the schedule's base is the lr the settings give (the user's, if changed)
                scheduler.base_lrs = [merged["initial_lr"]]
        key = ("loaded", freeze(merged), freeze(entry.get("scheduler")), frozen_clip)
        shared = self.grouped and is_groupable(self._optimizer_constructor, merged)
        slot = self._table.joinable(key, shared)
        if slot is not None:
            state = optimizer.state.get(p)
            if state:
                slot.optimizer.state[p] = state
            return slot
        return self._new_slot(optimizer, scheduler, shared, key, clipper, settings)

    def _new_slot(self, optimizer: torch.optim.Optimizer, scheduler: Any, shared: bool,
                  key: Hashable, clipper: ClipFn | None, settings: Mapping[str, Any]) -> Slot:
        return self._table.add(Slot(optimizer, scheduler, shared, key, clipper, settings))

    def _settings_for(self, p: torch.Tensor, name: str | None) -> Mapping[str, Any]:
        if isinstance(self.pt_optim_args, dict):
            return self.pt_optim_args
        return _call_per_param(self.pt_optim_args, p, name, "optim_args")

    def _clip_for(
        self, p: torch.Tensor, name: str | None
    ) -> tuple[dict | None, ClipFn | None, Hashable]:
        if not callable(self.pt_clip_args):
            return self.pt_clip_args, self._dict_clipper, self._frozen_clip
        clip_args = _call_per_param(self.pt_clip_args, p, name, "clip_args", allow_none=True)
        if clip_args is not None:
            clip_args = check_clip_args(clip_args, f"parameter {name!r}")
        return clip_args, make_clipper(clip_args), freeze(clip_args)

    def _new_optimizer(
        self, p: torch.Tensor, settings: Mapping[str, Any], name: str | None
    ) -> torch.optim.Optimizer:
        ctor = self._optimizer_constructor
        if ctor in _FUSED_BY_DEFAULT and "fused" not in settings and "foreach" not in settings \
                and p.dtype in (torch.float32, torch.float64) and p.device.type in ("cpu", "cuda"):
            # torch's fused kernel: the same update in one call per step, without the
            # per-tensor Python loop (a step of a small model is mostly that overhead)
            settings = {**settings, "fused": True}
        try:
            return ctor([p], **settings)
        except (TypeError, ValueError) as e:
            raise type(e)(
                f"cannot build {_ctor_name(ctor)} for parameter {name!r} of shape "
                f"{tuple(p.shape)} with settings {dict(settings)}: {e}"
            ) from e

    def _new_scheduler(self, optimizer: torch.optim.Optimizer, name: str | None) -> Any:
        """Hook for :class:`~pyro.optim.lr_scheduler.PyroLRScheduler`: plain optimizers
        have none."""
        return None

    def _forget(self, p: torch.Tensor) -> None:
        """Drop a parameter and its optimizer state (it was replaced in the ParamStore, or
        state for its name is being set)."""
        name = self._name_of.pop(p, None)
        if name is not None and self._tensor_of.get(name) is p:
            del self._tensor_of[name]
        self._table.drop(p)
        self._plan.invalidate()

    # ---------------------------------------------------------------------------- state

    @property
    def optim_objs(self) -> dict[torch.Tensor, Any]:
        """Parameter tensor -> the torch optimizer (scheduler, for schedulers) that steps it
        (in grouped mode many parameters share one)."""
        return {
            p: slot.optimizer if slot.scheduler is None else slot.scheduler
            for p, slot in self._table.slot_of.items()
        }

    def get_state(self) -> dict[str, dict]:
        """The state of every parameter seen (and of state set but not yet consumed), keyed
        by ParamStore name: ``{name: {"state": {0: {...}}, "param_groups": [{...,
        "params": [0]}], "optimizer": class name}}``, plus ``"scheduler"`` (its
        ``state_dict()``) for schedulers. Tensors are live references, as in
        ``torch.optim.Optimizer.state_dict``; copy them to snapshot."""
        state = dict(self._pending)
        unnamed = 0
        for p, slot in self._table.slot_of.items():
            name = self._name_of.get(p)
            if name is None:
                unnamed += 1
                continue
            state[name] = self._state_entry(slot, p)
        if unnamed:
            warnings.warn(
                f"PyroOptim.get_state: {unnamed} parameter(s) are not in the ParamStore, have "
                f"no name and are left out of the state",
                stacklevel=2,
            )
        return state

    def _state_entry(self, slot: Slot, p: torch.Tensor) -> dict:
        if slot.shared:
            group = slot.optimizer.param_groups[0]
            settings = {k: v for k, v in group.items() if k != "params"}
            settings["params"] = [0]
            own = slot.optimizer.state.get(p)
            entry = {"state": {0: own} if own else {}, "param_groups": [settings]}
        else:
            entry = slot.optimizer.state_dict()
        entry["optimizer"] = type(slot.optimizer).__name__
        entry["settings"] = recordable_settings(slot.settings)
        if slot.scheduler is not None:
            entry["scheduler"] = slot.scheduler.state_dict()
        return entry

    def set_state(self, state_dict: dict[str, dict], *, restore_settings: bool = False) -> None:
        """Set the state of parameters by name, from :meth:`get_state` (of this or another
        optimizer of the same kind, in either mode). A parameter's state is applied the
        next time it is stepped; a parameter already seen restarts from the given state.
        The entries are copied and checked (tensors against the parameter of that name
        where it exists, again when it is stepped: see :meth:`load`).

        :param restore_settings: take the settings saved with the state (``lr``,
            ``betas``, ...) instead of this optimizer's own (see :meth:`load`).
        :raises OptimStateError: if ``state_dict`` is not in the format of :meth:`get_state`
            or an entry does not fit its parameter.
        """
        check_optim_state(state_dict, "PyroOptim.set_state()")
        self._set_state(state_dict, "PyroOptim.set_state()", restore_settings)

    def _set_state(self, state_dict: dict[str, dict], source: str,
                   restore_settings: bool = False) -> None:
        import pyro

        store = pyro.get_param_store()
        optimizer_name = getattr(self._optimizer_constructor, "__name__", None)
        # all or nothing: every entry is checked before any is applied
        try:
            checked = {name: check_param_entry(entry, name, source,
                                               store.get_unconstrained(name), optimizer_name)
                       for name, entry in state_dict.items()}
        except RecursionError:
            raise OptimStateError(f"{source} nests containers too deeply to be optimizer "
                                  f"state") from None
        for name, entry in checked.items():
            old = self._tensor_of.get(name)
            if old is not None:
                self._forget(old)
            self._pending[name] = entry
            self._pending_meta[name] = (source, restore_settings)

    def save(self, filename: str) -> None:
        """Save the optimizer state (:meth:`get_state`) to ``filename`` atomically (a
        temporary file in the same directory, fsync'ed, then renamed)."""
        save_state(self.get_state(), filename)

    def load(self, filename: str, map_location: Any | None = None, *,
             restore_settings: bool = False) -> None:
        """Load optimizer state written by :meth:`save` (``torch.load(weights_only=True)``:
        no code from the file runs). State tensors are moved to each parameter's device and
        dtype when the parameter is next seen.

        Every tensor is checked before an optimizer sees it (a dense tensor whose memory
        does not repeat or overlap, of the parameter's shape, or a single finite step
        count), against the live parameter of that name now and again when the parameter
        is stepped, so a file saved for another model fails with an error naming the file
        and the parameter instead of reaching a torch kernel.

        This optimizer's settings win over the file's: a setting given to this optimizer
        is taken from the file only if it is unchanged since the save (its saved value is
        then its evolution, e.g. a decayed or scheduled ``lr``, so a resume is exact);
        ``fused`` / ``foreach`` / ``capturable`` / ``differentiable`` are never taken from
        a file. Pass ``restore_settings=True`` to take the saved settings.

        :raises FileNotFoundError: if the file does not exist.
        :raises OptimStateError: if the file is corrupt, does not hold optimizer state, or
            an entry does not fit its parameter.
        """
        source = f"optimizer state file {os.fspath(filename)!r}"
        self._set_state(load_state(filename, map_location), source, restore_settings)

    def __repr__(self) -> str:
        mode = "grouped" if self.grouped else "per-parameter"
        return (
            f"{type(self).__name__}({_ctor_name(self._optimizer_constructor)}, "
            f"{self.pt_optim_args!r}, {mode}, {len(self._table.slot_of)} parameters in "
            f"{len(self._slots)} optimizers)"
        )


# ----------------------------------------------------------------------------- helpers


def _ctor_name(ctor: Any) -> str:
    return getattr(ctor, "__name__", repr(ctor))


_LOOK_UP = object()  # _admit's marker: no name given, look it up in the ParamStore


def _param_store_name(p: torch.Tensor) -> str | None:
    """The ParamStore name of an unconstrained parameter, or ``None`` if it is not there."""
    import pyro

    try:
        return pyro.get_param_store().param_name(p)
    except KeyError:
        return None


def per_param_arguments(fn: Callable, name: str) -> tuple[str, ...]:
    """The arguments Pyro passes a per-parameter ``optim_args`` / ``clip_args`` callable for
    the ParamStore name ``name``: ``(module_name, param_name)`` when the callable takes two
    parameters (``("net", "weight")`` for ``pyro.module("net", ...)``'s weight, the name
    twice for a plain ``pyro.param``), else the one fully qualified name in torch's dotted
    spelling (``"net.weight"``, ``"plain"``), as in Pyro's tutorials'
    ``per_param_callable(param_name)``."""
    from pyro.params.param_store import (
        module_from_param_with_module_name,
        normalize_param_name,
        user_param_name,
    )

    try:
        two = len(inspect.signature(fn).parameters) == 2
    except (TypeError, ValueError):  # (no signature to read: the two-name form)
        two = True
    if two:
        return module_from_param_with_module_name(name), user_param_name(name)
    return (normalize_param_name(name),)


def _call_per_param(
    fn: Callable, p: torch.Tensor, name: str | None, what: str, allow_none: bool = False
) -> Any:
    """Call a per-parameter callable (see :func:`per_param_arguments`) for ``p``."""
    if name is None:
        raise ValueError(
            f"{what} is a callable (module_name, param_name) -> dict, but a parameter of shape "
            f"{tuple(p.shape)} is not in the ParamStore, so it has no name; create parameters "
            f"with pyro.param / pyro.module, or pass {what} as a dict"
        )
    result = fn(*per_param_arguments(fn, name))
    if result is None and allow_none:
        return None
    if not isinstance(result, Mapping):
        raise TypeError(
            f"the {what} callable returned {type(result).__name__} for parameter {name!r}; "
            f"it must return a dict"
        )
    return dict(result)


def _check_saved_by(optimizer: torch.optim.Optimizer, entry: dict, name: str | None) -> None:
    saved_by = entry.get("optimizer")
    if saved_by is not None and saved_by != type(optimizer).__name__:
        raise OptimStateError(
            f"the saved optimizer state of parameter {name!r} was written by {saved_by}, but "
            f"this optimizer is {type(optimizer).__name__}; drop the entry from the state to "
            f"start this parameter afresh, or resume with {saved_by}"
        )


def _load_optimizer(optimizer: torch.optim.Optimizer, entry: dict, name: str | None) -> None:
    try:
        optimizer.load_state_dict({"state": entry["state"], "param_groups": entry["param_groups"]})
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise OptimStateError(
            f"the saved optimizer state of parameter {name!r} does not fit "
            f"{type(optimizer).__name__} ({type(e).__name__}: {e}); was it saved from another "
            f"optimizer? Drop it from the state to start this parameter afresh"
        ) from e


def _load_scheduler(scheduler: Any, state: dict, name: str | None) -> None:
    try:
        scheduler.load_state_dict(state)
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as e:
        raise OptimStateError(
            f"the saved scheduler state of parameter {name!r} does not fit "
            f"{type(scheduler).__name__} ({type(e).__name__}: {e})"
        ) from e


#: torch's learning-rate scheduler base classes (``LRScheduler`` where torch has it, and
#: ``ReduceLROnPlateau``, which is not one of its subclasses)
SCHEDULER_BASES: tuple[type, ...] = tuple(
    cls
    for cls in (getattr(torch.optim.lr_scheduler, "LRScheduler", None),
                torch.optim.lr_scheduler.ReduceLROnPlateau)
    if cls is not None
)


def is_scheduler(optimizer: Any) -> bool:
    """Whether ``optimizer`` is a torch learning-rate scheduler (a subclass of
    ``torch.optim.lr_scheduler.LRScheduler`` or ``ReduceLROnPlateau``) rather than a torch
    optimizer or anything else; ``PyroOptim`` / ``PyroLRScheduler`` objects give False."""
    return isinstance(optimizer, SCHEDULER_BASES)


#: Pyro's wrappers of its own optimizers are reachable here too (as in Pyro), the very
#: objects of ``pyro.optim``; looked up lazily since ``pyro.optim`` imports this module.
_PACKAGE_WRAPPERS = ("AdagradRMSProp", "ClippedAdam", "DCTAdam")


def __getattr__(name: str) -> Any:
    if name in _PACKAGE_WRAPPERS:
        import pyro.optim

        return getattr(pyro.optim, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
