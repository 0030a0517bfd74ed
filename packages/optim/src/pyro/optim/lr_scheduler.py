"""``PyroLRScheduler``: torch learning-rate schedulers for dynamically appearing parameters."""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch

from .optim import ArgsOrCallable, PyroOptim, _ctor_name


class PyroLRScheduler(PyroOptim):
    """A :class:`~pyro.optim.optim.PyroOptim` whose optimizers each carry a
    ``torch.optim.lr_scheduler`` scheduler, stepped when the user calls :meth:`step`.

    Use it wherever a PyroOptim goes (``SVI(model, guide, scheduler, loss)``): calling it
    steps the optimizers; ``scheduler.step(*args)`` steps the schedulers (once per epoch,
    every N SVI steps, ...; ``ReduceLROnPlateau`` takes the loss: ``scheduler.step(loss)``).

    Example::

        scheduler = pyro.optim.ExponentialLR(
            {"optimizer": torch.optim.SGD, "optim_args": {"lr": 0.01}, "gamma": 0.1})
        svi = SVI(model, guide, scheduler, loss=Trace_ELBO())
        for epoch in range(10):
            for batch in data:
                svi.step(batch)
            scheduler.step()

    Every parameter behaves as if it had its own optimizer and scheduler, created when it
    first appears (Pyro's semantics; a parameter that appears late starts its schedule
    then). In grouped mode a parameter joins the shared optimizer of its setting only if no
    scheduler step happened since that optimizer was made; otherwise a new shared optimizer
    (and scheduler) starts, so the numbers are those of per-parameter mode.

    Schedulers built from other schedulers (``SequentialLR``, ``ChainedScheduler``) take
    ``"schedulers": [(SchedulerClass, kwargs), ...]``; each is built on the same optimizer.

    :param scheduler_constructor: a ``torch.optim.lr_scheduler`` class.
    :param optim_args: ``{"optimizer": torch optimizer class (or a pyro.optim wrapper),
        "optim_args": dict or callable (module_name, param_name) -> dict, **scheduler
        keyword arguments}``.
    :param clip_args: as for :class:`~pyro.optim.optim.PyroOptim`.
    :param grouped: as for :class:`~pyro.optim.optim.PyroOptim`.
    :raises TypeError: if ``optim_args`` is not a dict.
    :raises ValueError: if ``"optimizer"`` or ``"optim_args"`` is missing.
    """

    def __init__(
        self,
        scheduler_constructor: Callable[..., Any],
        optim_args: Mapping[str, Any],
        clip_args: ArgsOrCallable | None = None,
        grouped: bool | None = None,
    ) -> None:
        if not isinstance(optim_args, Mapping):
            raise TypeError(
                f"{_ctor_name(scheduler_constructor)}: optim_args must be a dict "
                f"{{'optimizer': ..., 'optim_args': ..., **scheduler arguments}}, got "
                f"{type(optim_args).__name__}"
            )
        kwargs = dict(optim_args)
        missing = [k for k in ("optimizer", "optim_args") if k not in kwargs]
        if missing:
            raise ValueError(
                f"{_ctor_name(scheduler_constructor)}: optim_args is missing {missing}; give "
                f"{{'optimizer': torch.optim.SGD, 'optim_args': {{'lr': 0.01}}, "
                f"**scheduler arguments}}"
            )
        optimizer = kwargs.pop("optimizer")
        inner_args = kwargs.pop("optim_args")
        # a pyro.optim wrapper (pyro.optim.Adam) stands for the torch class it wraps
        optimizer = getattr(optimizer, "optim_constructor", optimizer)
        self.pt_scheduler_constructor = getattr(
            scheduler_constructor, "scheduler_constructor", scheduler_constructor
        )
        self.kwargs = kwargs
        super().__init__(optimizer, inner_args, clip_args, grouped)

    def _new_scheduler(self, optimizer: torch.optim.Optimizer, name: str | None) -> Any:
        kwargs = dict(self.kwargs)
        if "schedulers" in kwargs:
            kwargs["schedulers"] = [
                _build_scheduler(*_scheduler_spec(spec), optimizer=optimizer)
                for spec in kwargs["schedulers"]
            ]
        try:
            return _build_scheduler(self.pt_scheduler_constructor, kwargs, optimizer)
        except (TypeError, ValueError) as e:
            raise type(e)(
                f"cannot build {_ctor_name(self.pt_scheduler_constructor)} for parameter "
                f"{name!r} with arguments {self.kwargs}: {e}"
            ) from e

    def step(self, *args: Any, **kwargs: Any) -> None:
        """Step every scheduler (one per parameter, or per group in grouped mode) with the
        given arguments (``ReduceLROnPlateau``: the monitored loss)."""
        for slot in self._slots:
            slot.scheduler.step(*args, **kwargs)
        # the groups' learning rates have moved on: parameters seen from now on start anew
        self._open.clear()


def _scheduler_spec(spec: Any) -> tuple[Callable[..., Any], dict[str, Any]]:
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[1], Mapping):
        # a pyro.optim scheduler wrapper stands for the torch class it wraps
        ctor = getattr(spec[0], "scheduler_constructor", spec[0])
        if callable(ctor):
            return ctor, dict(spec[1])
    raise TypeError(
        f"each entry of 'schedulers' must be a pair (SchedulerClass, kwargs dict), got {spec!r}"
    )


def _build_scheduler(ctor: Callable[..., Any], kwargs: dict[str, Any], optimizer: Any) -> Any:
    """``ctor(optimizer, **kwargs)``, or ``ctor(**kwargs, optimizer=optimizer)`` for
    constructors whose first argument is not the optimizer (``ChainedScheduler``)."""
    try:
        first = next(iter(inspect.signature(ctor).parameters))
    except (TypeError, ValueError, StopIteration):
        first = "optimizer"
    if first == "optimizer":
        return ctor(optimizer, **kwargs)
    return ctor(**kwargs, optimizer=optimizer)
