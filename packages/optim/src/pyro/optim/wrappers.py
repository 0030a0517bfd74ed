"""Factories turning a torch optimizer or scheduler class into a ``pyro.optim`` wrapper."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .lr_scheduler import PyroLRScheduler
from .optim import ArgsOrCallable, PyroOptim

_Wrapped = TypeVar("_Wrapped", bound=PyroOptim)


def optimizer_wrapper(constructor: Callable[..., Any]) -> Callable[..., PyroOptim]:
    """Return ``Name(optim_args, clip_args=None, grouped=None) -> PyroOptim`` for the
    optimizer class ``constructor`` (the wrapper keeps it as ``.optim_constructor``)."""
    name = constructor.__name__
    doc = (
        f"Wrap :class:`{constructor.__module__}.{name}` in a "
        f":class:`~pyro.optim.optim.PyroOptim`: ``{name}(optim_args, clip_args=None, "
        f"grouped=None)``, where ``optim_args`` is a dict of ``{name}`` keyword arguments or a "
        f"callable ``(module_name, param_name) -> dict`` (see PyroOptim)."
    )
    return _wrapper(constructor, PyroOptim, "optim_constructor", doc)


def scheduler_wrapper(constructor: Callable[..., Any]) -> Callable[..., PyroLRScheduler]:
    """Return ``Name(optim_args, clip_args=None, grouped=None) -> PyroLRScheduler`` for the
    scheduler class ``constructor`` (kept as ``.scheduler_constructor``)."""
    name = constructor.__name__
    doc = (
        f"Wrap :class:`{constructor.__module__}.{name}` in a "
        f":class:`~pyro.optim.lr_scheduler.PyroLRScheduler`: ``{name}({{'optimizer': "
        f"torch.optim.SGD, 'optim_args': {{'lr': 0.01}}, **{name} arguments}})``; call "
        f"``.step(...)`` to step the schedulers."
    )
    return _wrapper(constructor, PyroLRScheduler, "scheduler_constructor", doc)


def _wrapper(
    constructor: Callable[..., Any], build: Callable[..., _Wrapped], attribute: str, doc: str
) -> Callable[..., _Wrapped]:
    """A function named after ``constructor`` that builds ``build(constructor, ...)``; it
    keeps ``constructor`` as its attribute ``attribute``."""

    def wrapper(
        optim_args: ArgsOrCallable,
        clip_args: ArgsOrCallable | None = None,
        grouped: bool | None = None,
    ) -> _Wrapped:
        return build(constructor, optim_args, clip_args, grouped)

    wrapper.__name__ = wrapper.__qualname__ = constructor.__name__
    wrapper.__doc__ = doc
    setattr(wrapper, attribute, constructor)  # a function attribute: read by name
    return wrapper
