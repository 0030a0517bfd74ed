"""A ``pyro.optim`` wrapper for every optimizer in ``torch.optim`` and every scheduler in
``torch.optim.lr_scheduler``, generated from torch's own lists at import time (a new torch
optimizer or scheduler appears here without new code).

``pyro.optim.Adam({"lr": 1e-3})`` is ``PyroOptim(torch.optim.Adam, {"lr": 1e-3})``;
``pyro.optim.StepLR({"optimizer": torch.optim.SGD, "optim_args": {"lr": 0.1},
"step_size": 10})`` is a :class:`~pyro.optim.lr_scheduler.PyroLRScheduler`.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.optim import lr_scheduler as _lr_scheduler

from .optim import SCHEDULER_BASES
from .wrappers import optimizer_wrapper, scheduler_wrapper

#: torch's scheduler base classes, wrapped too as Pyro does (``_LRScheduler`` is private
#: in torch, so listed by hand); their own ``get_lr`` raises torch's NotImplementedError at
#: the first step, so only a subclass of theirs is of use
_SCHEDULER_BASE_NAMES = ("LRScheduler", "_LRScheduler")


def torch_optimizer_classes() -> Iterator[tuple[str, type]]:
    """``(name, class)`` for every public optimizer class of ``torch.optim``."""
    names = getattr(torch.optim, "__all__", None) or dir(torch.optim)
    for name in names:
        obj = getattr(torch.optim, name, None)
        if (
            isinstance(obj, type)
            and issubclass(obj, torch.optim.Optimizer)
            and obj is not torch.optim.Optimizer
            and not name.startswith("_")
        ):
            yield name, obj


def torch_scheduler_classes() -> Iterator[tuple[str, type]]:
    """``(name, class)`` for every public scheduler class of ``torch.optim.lr_scheduler``,
    the base classes ``LRScheduler`` and ``_LRScheduler`` included (as in Pyro)."""
    names = list(getattr(_lr_scheduler, "__all__", None) or dir(_lr_scheduler))
    names += [name for name in _SCHEDULER_BASE_NAMES if name not in names]
    for name in names:
        obj = getattr(_lr_scheduler, name, None)
        if (
            isinstance(obj, type)
            and issubclass(obj, SCHEDULER_BASES)
            and (name in _SCHEDULER_BASE_NAMES or not name.startswith("_"))
        ):
            yield name, obj


__all__: list[str] = []


def _export(name: str, obj: Any) -> None:
    globals()[name] = obj
    __all__.append(name)


for _name, _cls in torch_optimizer_classes():
    _export(_name, optimizer_wrapper(_cls))
for _name, _cls in torch_scheduler_classes():
    _export(_name, scheduler_wrapper(_cls))
