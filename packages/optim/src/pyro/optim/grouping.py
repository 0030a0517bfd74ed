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
per-parameter optimizers side by side.

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
