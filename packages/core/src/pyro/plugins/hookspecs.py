"""Hook specifications of the ``pyro`` plugin system.

Every hook is prefixed ``pyro_``. A plugin is any object or module holding functions
decorated with :data:`pyro.plugins.hookimpl`; it is found through the ``pyro``
entry-point group (``[project.entry-points.pyro]`` in its ``pyproject.toml``) or added by
hand with :func:`pyro.plugins.register`.

Registration hooks receive a :class:`~pyro.plugins.Registry` and call
``registry.add(name, obj)``; they run once, when the registry is first consulted, in
pluggy's call order (``tryfirst`` implementations, then the most recently registered
plugin first, then ``trylast`` ones).
Event hooks run once per SVI step or MCMC draw (never per sample site) and are
skipped entirely when no plugin implements them.
"""
from __future__ import annotations

from typing import Any, Protocol

import pluggy

from .registry import Registry

hookspec = pluggy.HookspecMarker("pyro")
#: Decorator of hook implementations in plugins.
hookimpl = pluggy.HookimplMarker("pyro")


# ----------------------------------------------------------------- registration hooks


@hookspec
def pyro_register_handlers(registry: Registry) -> None:
    """Register effect handlers (Messenger classes or handler functions).

    Each ``registry.add(name, obj)`` makes ``obj`` available as ``pyro.poutine.NAME``.
    """


@hookspec
def pyro_register_distributions(registry: Registry) -> None:
    """Register distribution classes, available as ``pyro.distributions.NAME``."""


@hookspec
def pyro_register_inference(registry: Registry) -> None:
    """Register inference algorithms, ELBOs and MCMC kernels (``pyro.infer.NAME``)."""


@hookspec
def pyro_register_autoguides(registry: Registry) -> None:
    """Register guide classes, available as ``pyro.infer.autoguide.NAME``."""


@hookspec
def pyro_register_optimizers(registry: Registry) -> None:
    """Register optimizer factories, available as ``pyro.optim.NAME``."""


@hookspec
def pyro_register_runners(registry: Registry) -> None:
    """Register fitting recipes for the command line, used as ``pyro fit --algo NAME``.

    A runner is a callable ``runner(model, data, **options) -> FitResult`` (see
    :func:`pyro.infer.fit`): it receives the model function, the data dict of the model
    file and the CLI options (``num_steps``, ``num_samples``, ``warmup_steps``, ``seed``,
    ``progress_bar``, ...) and returns posterior samples as a dict of tensors.
    """


# ----------------------------------------------------------------------- event hooks


class ProgressBar(Protocol):
    """What :func:`pyro_progress_bar` returns (``tqdm`` is one)."""

    def update(self, n: int = 1) -> object: ...

    def set_postfix(self, *args: Any, **kwargs: Any) -> object: ...

    def close(self) -> object: ...


@hookspec(firstresult=True)
def pyro_progress_bar(total: int, desc: str, disable: bool) -> ProgressBar | None:
    """Return a progress-bar object (``update(n)``, ``set_postfix(**kw)``, ``close()``)
    for a loop of ``total`` iterations, or ``None`` to let the next plugin decide.
    The first non-``None`` answer wins."""


@hookspec(firstresult=True)
def pyro_svi_step(svi: object, args: tuple, kwargs: dict) -> float | None:
    """One SVI step, meant for wrapper implementations (``@hookimpl(wrapper=True)``):
    a wrapper ``yield``s to run the step, receives the loss (a float) from the ``yield``
    and returns it (possibly changed). Plugins use it to time steps, guard against NaN
    or all-reduce gradients. SVI itself implements the innermost call."""


@hookspec
def pyro_mcmc_sample(kernel: object, params: dict, stage: str, i: int, chain_id: int) -> None:
    """Called after each MCMC draw; ``stage`` is ``"warmup"`` or ``"sample"``."""


@hookspec
def pyro_inference_start(algorithm: object, info: dict) -> None:
    """Called once when an inference run (SVI fit, MCMC run, CLI fit) starts."""


@hookspec
def pyro_inference_end(algorithm: object, info: dict) -> None:
    """Called once when an inference run ends, with its summary ``info``."""
