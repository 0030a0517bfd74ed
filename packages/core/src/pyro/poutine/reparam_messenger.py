"""``poutine.reparam``: hand sample sites to reparameterizers.

A *reparameterizer* (the classes of ``pyro.infer.reparam``, or any object with this
method) implements Pyro 1.9's protocol::

    def apply(self, msg: dict) -> dict:
        # msg: {"name": str, "fn": distribution, "value": Tensor or None,
        #       "is_observed": bool}
        ...  # may call pyro.sample for auxiliary sites; self.args_kwargs holds the
             # (args, kwargs) of the handled model call
        return {"fn": new_fn, "value": new_value, "is_observed": new_is_observed}

Typically the returned ``fn`` is a ``Delta`` at a deterministic function of new
auxiliary sites, with ``is_observed=True`` (the site becomes a deterministic function of
the auxiliary ones). The older protocol ``reparam(name, fn, obs) -> (fn, obs)`` is still
accepted, with a ``FutureWarning``.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from .messenger import Messenger
from .util import site_is_subsample

Config = dict[str, Any] | Callable[[Any], Any]


class ReparamMessenger(Messenger):
    """Reparameterize each sample site that ``config`` selects: the site's distribution,
    value and observed flag are replaced by what its reparameterizer's ``apply`` returns
    (see the module docstring for the protocol).

    Place it outside ``poutine.enum`` / plates and inside ``poutine.replay`` /
    ``poutine.trace``, e.g. ``poutine.reparam(model, config={"x": LocScaleReparam()})``.
    Plate subsample sites are never reparameterized.

    **References**

    [1] M. Gorinova, D. Moore, M. Hoffman, "Automatic Reparameterisation of
        Probabilistic Programs", ICML 2020.

    :param config: a dict site name -> reparameterizer, or a callable ``config(msg)``
        returning a reparameterizer or ``None`` for each sample site.
    :raises TypeError: if ``config`` is neither, or a reparameterizer returns something
        other than a dict with keys ``fn``, ``value``, ``is_observed``.
    """

    def __init__(self, fn: Callable | None = None, config: Config | None = None) -> None:
        super().__init__(fn)
        if config is None or not (isinstance(config, dict) or callable(config)):
            raise TypeError(f"poutine.reparam needs config=, a dict site name -> reparameterizer "
                            f"or a callable msg -> reparameterizer, got {type(config).__name__}")
        self.config = config
        self._args_kwargs: tuple[tuple, dict[str, Any]] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fn is None and len(args) == 1 and not kwargs and callable(args[0]):
            return ReparamHandler(self, args[0])
        if self.fn is not None:
            return ReparamHandler(self, self.fn)(*args, **kwargs)
        return super().__call__(*args, **kwargs)

    def _pyro_sample(self, msg) -> None:
        if site_is_subsample(msg):
            return
        if isinstance(self.config, dict):
            reparam = self.config.get(msg["name"])
        else:
            reparam = self.config(msg)
        if reparam is None:
            return
        reparam.args_kwargs = self._args_kwargs
        try:
            if hasattr(reparam, "apply"):
                result = reparam.apply({"name": msg["name"], "fn": msg["fn"],
                                        "value": msg["value"], "is_observed": msg["is_observed"]})
            else:
                result = _apply_old_protocol(reparam, msg)
        finally:
            reparam.args_kwargs = None
        if not isinstance(result, dict) or not {"fn", "value", "is_observed"} <= set(result):
            raise TypeError(
                f"poutine.reparam: {type(reparam).__name__}.apply at site {msg['name']!r} must "
                f"return a dict with keys 'fn', 'value', 'is_observed', got {result!r}"
            )
        msg["fn"] = result["fn"]
        msg["value"] = result["value"]
        msg["is_observed"] = result["is_observed"]


def _apply_old_protocol(reparam: Callable, msg) -> dict[str, Any]:
    # Pyro's deprecated reparam(name, fn, obs) -> (fn, obs) interface.
    warnings.warn(f"{type(reparam).__name__}: the reparameterizer interface __call__(name, fn, "
                  f"obs) is deprecated; implement apply(msg) instead", FutureWarning,
                  stacklevel=4)
    obs = msg["value"] if msg["is_observed"] else None
    fn, value = reparam(msg["name"], msg["fn"], obs)
    if value is None:
        return {"fn": fn, "value": msg["value"], "is_observed": msg["is_observed"]}
    return {"fn": fn, "value": value, "is_observed": True}


class ReparamHandler:
    """``fn`` run under the :class:`ReparamMessenger` ``msngr``: what
    ``poutine.reparam(fn, config)`` returns. Each call makes the call's
    ``(args, kwargs)`` available to the reparameterizers as ``reparam.args_kwargs``."""

    def __init__(self, msngr: ReparamMessenger, fn: Callable) -> None:
        self.msngr = msngr
        self.fn = fn
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        saved = self.msngr._args_kwargs
        self.msngr._args_kwargs = args, kwargs
        try:
            with self.msngr:
                return self.fn(*args, **kwargs)
        finally:
            self.msngr._args_kwargs = saved
