"""Which optimizers may share one torch optimizer between many parameters.

:class:`~pyro.optim.optim.PyroOptim` keeps, in *grouped* mode, one torch optimizer per
distinct setting and steps all parameters with that setting in one ``step()`` call. This is
only allowed when the numbers are exactly those of one optimizer per parameter (Pyro's
per-parameter mode), i.e. when the optimizer

* treats every parameter independently (its update of a parameter depends on that
  parameter, its gradient and its own state only), and
* changes no group-level setting while stepping (a decaying ``lr`` couples all members of
  a group: a parameter skipped at one step would otherwise see the others' decay).

Grouping is decided per setting, so a callable ``optim_args`` may give grouped and
per-parameter optimizers side by side. This module also holds the bookkeeping of both modes:
:class:`Slot` (one torch optimizer and the parameters it owns) and :class:`SlotTable` (every
slot of a ``PyroOptim``, and the shared slots new parameters may join).

Groupable torch optimizers (checked element for element by the package's tests):
Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax, ASGD, Muon, NAdam, RAdam, RMSprop,
Rprop, SGD, SparseAdam.

Never grouped (always one optimizer per parameter, as in Pyro):

* ``LBFGS``: it flattens all parameters of its group into one vector, keeps one history
  for that vector and calls the closure several times per step; grouping would turn
  per-parameter L-BFGS into a joint one (different numbers).
* :class:`~pyro.optim.clipped_adam.ClippedAdam` with ``lrd != 1`` (the decaying learning
  rate is group-level state). With ``lrd == 1`` it is grouped.
* Any optimizer this module does not know (a subclass that overrides ``step`` included),
  unless its class declares ``pyro_groupable = True`` or a static method
  ``pyro_groupable(settings) -> bool``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import torch

_TORCH_GROUPABLE_NAMES = (
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "ASGD",
    "Muon",
    "NAdam",
    "RAdam",
    "RMSprop",
    "Rprop",
    "SGD",
    "SparseAdam",
)

#: torch optimizer classes known to be exactly per-parameter (present in this torch build).
TORCH_GROUPABLE = frozenset(
    getattr(torch.optim, name) for name in _TORCH_GROUPABLE_NAMES if hasattr(torch.optim, name)
)


def is_groupable(constructor: Callable, settings: Mapping[str, Any]) -> bool:
    """Whether parameters built by ``constructor(params, **settings)`` may share one optimizer
    with identical numbers to one optimizer per parameter (see the module docstring)."""
    declared = getattr(constructor, "pyro_groupable", None)
    if declared is not None:
        return bool(declared(settings)) if callable(declared) else bool(declared)
    return constructor in TORCH_GROUPABLE


class Slot:
    """One torch optimizer (and, for schedulers, its scheduler) with the parameters it owns.

    A *shared* slot steps every parameter of one setting at once (grouped mode); an unshared
    slot owns exactly one parameter (per-parameter mode, Pyro's behaviour).
    """

    __slots__ = ("optimizer", "scheduler", "shared", "key", "clip", "eager_state", "members",
                 "settings")

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        shared: bool,
        key: Hashable,
        clip: Callable[[list[torch.Tensor]], None] | None,
        settings: Mapping[str, Any],
    ) -> None:
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.shared = shared
        self.key = key
        self.clip = clip
        # the constructor fills state (Adagrad): a joining parameter's is built the same way
        self.eager_state = bool(optimizer.state)
        self.members: dict[torch.Tensor, None] = {}
        self.settings = settings  # the user's settings (recorded with saved state)


class SlotTable:
    """The slots of one ``PyroOptim``: which slot steps each parameter, and (grouped mode)
    the shared slot of each setting key that newly seen parameters join.

    ``slots`` and ``open`` are plain containers, read by the scheduler wrappers (which step
    every slot and close the groups when the learning rates move on).
    """

    __slots__ = ("slots", "open", "slot_of")

    def __init__(self) -> None:
        self.slots: list[Slot] = []
        self.open: dict[Hashable, Slot] = {}  # shared slots that new parameters may join
        self.slot_of: dict[torch.Tensor, Slot] = {}

    def add(self, slot: Slot) -> Slot:
        self.slots.append(slot)
        if slot.shared:
            self.open[slot.key] = slot
        return slot

    def joinable(self, key: Hashable, shared: bool) -> Slot | None:
        """The open shared slot of setting ``key`` (``None`` when ``shared`` is false)."""
        return self.open.get(key) if shared else None

    def assign(self, p: torch.Tensor, slot: Slot) -> None:
        slot.members[p] = None
        self.slot_of[p] = slot

    def drop(self, p: torch.Tensor) -> None:
        """Forget ``p`` and its optimizer state; a slot left empty goes too."""
        slot = self.slot_of.pop(p, None)
        if slot is None:
            return
        slot.members.pop(p, None)
        slot.optimizer.state.pop(p, None)
        if not slot.members:
            self.slots.remove(slot)
            if self.open.get(slot.key) is slot:
                del self.open[slot.key]


def freeze(value: Any) -> Hashable:
    """A hashable, order-independent key for a settings value (dicts, sequences, tensors,
    numbers); used to find the group that holds parameters of equal settings."""
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(freeze(v) for v in value))
    if isinstance(value, torch.Tensor):
        flat = value.detach().reshape(-1).cpu().tolist()
        return ("tensor", str(value.dtype), tuple(value.shape), tuple(map(_float_key, flat)))
    if isinstance(value, float):
        return _float_key(value)
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))  # unhashable and unknown: only equal to itself
    return value


def _float_key(x: Any) -> Any:
    # nan != nan would put every nan-valued setting in its own group; key it explicitly
    return ("nan",) if isinstance(x, float) and math.isnan(x) else x
