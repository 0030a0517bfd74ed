"""Factories turning a torch optimizer or scheduler class into a ``pyro.optim`` wrapper."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .lr_scheduler import PyroLRScheduler
from .optim import ArgsOrCallable, PyroOptim


def optimizer_wrapper(constructor: Callable[..., Any]) -> Callable[..., PyroOptim]:
    """Return ``Name(optim_args, clip_args=None, grouped=None) -> PyroOptim`` for the
    optimizer class ``constructor`` (the wrapper keeps it as ``.optim_constructor``)."""
    name = constructor.__name__

    def wrapper(
        optim_args: ArgsOrCallable,
        clip_args: ArgsOrCallable | None = None,
        grouped: bool | None = None,
    ) -> PyroOptim:
        return PyroOptim(constructor, optim_args, clip_args, grouped)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = (
        f"Wrap :class:`{constructor.__module__}.{name}` in a "
        f":class:`~pyro.optim.optim.PyroOptim`: ``{name}(optim_args, clip_args=None, "
        f"grouped=None)``, where ``optim_args`` is a dict of ``{name}`` keyword arguments or a "
        f"callable ``(module_name, param_name) -> dict`` (see PyroOptim)."
    )
    wrapper.optim_constructor = constructor
    return wrapper


def scheduler_wrapper(constructor: Callable[..., Any]) -> Callable[..., PyroLRScheduler]:
    """Return ``Name(optim_args, clip_args=None, grouped=None) -> PyroLRScheduler`` for the
    scheduler class ``constructor`` (kept as ``.scheduler_constructor``)."""
    name = constructor.__name__

    def wrapper(
        optim_args: Mapping[str, Any],
        clip_args: ArgsOrCallable | None = None,
        grouped: bool | None = None,
    ) -> PyroLRScheduler:
        return PyroLRScheduler(constructor, optim_args, clip_args, grouped)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = (
        f"Wrap :class:`{constructor.__module__}.{name}` in a "
        f":class:`~pyro.optim.lr_scheduler.PyroLRScheduler`: ``{name}({{'optimizer': "
        f"torch.optim.SGD, 'optim_args': {{'lr': 0.01}}, **{name} arguments}})``; call "
        f"``.step(...)`` to step the schedulers."
    )
    wrapper.scheduler_constructor = constructor
    return wrapper
