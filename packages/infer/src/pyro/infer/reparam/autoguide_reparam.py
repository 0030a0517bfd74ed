"""The base of the reparameterizers that carry a model's latent sites through a trained
autoguide (:class:`~pyro.infer.reparam.NeuTraReparam`,
:class:`~pyro.infer.reparam.StructuredReparam`)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyro import poutine
from pyro.poutine.trace_struct import Trace

from .reparam import Reparam, ReparamMessage, ReparamResult


class AutoGuideReparam(Reparam):
    """One instance reparameterizes every latent site of ``guide``'s prototype trace;
    other sites pass unchanged. The first latent site of a model run draws the auxiliary
    variables of all of them (subclasses keep what it drew until each site takes its
    part, see :meth:`_take`); :meth:`_transport` gives one site its new distribution.

    :param guide: an instance of the autoguide class named :attr:`guide_class`.
    :raises TypeError: for a guide of another class.
    """

    #: the autoguide class (its name in ``pyro.infer.autoguide``) the guide must be
    guide_class = "AutoGuide"

    def __init__(self, guide: Any) -> None:
        import pyro.infer.autoguide as autoguide  # pyro-autoguide sits above infer

        if not isinstance(guide, getattr(autoguide, self.guide_class)):
            raise TypeError(f"{type(self).__name__} expects an {self.guide_class} guide, got "
                            f"{type(guide).__name__}")
        self.guide = guide

    def reparam(self, fn: Callable | None = None):
        """``poutine.reparam(fn, config=...)`` reparameterizing exactly the guide's latent
        sites (usable as a decorator)."""
        return poutine.reparam(fn, config=self._reparam_config)

    def _reparam_config(self, site: dict[str, Any]) -> AutoGuideReparam | None:
        trace = self.guide.prototype_trace
        if trace is None or site["name"] in latent_names(trace):  # unset: set up in apply
            return self
        return None

    def _prototype(self) -> Trace:
        """The guide's prototype trace; one that has not run yet sets itself up by being
        called once, hidden from every handler, on the model's ``(args, kwargs)``."""
        if self.guide.prototype_trace is None:
            args, kwargs = self.args_kwargs or ((), {})
            with poutine.block():
                self.guide(*args, **kwargs)
        return self.guide.prototype_trace

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name = msg["name"]
        if name not in latent_names(self._prototype()):
            return {"fn": msg["fn"], "value": msg["value"],
                    "is_observed": bool(msg["is_observed"])}
        if msg["is_observed"]:
            raise NotImplementedError(f"{type(self).__name__} at site {name!r}: observed "
                                      f"sites are not supported")
        return self._transport(msg)

    def _transport(self, msg: ReparamMessage) -> ReparamResult:
        raise NotImplementedError(f"{type(self).__name__} must define _transport")

    def _take(self, pending: dict[str, Any], name: str) -> Any:
        """Pop the part of site ``name`` from what the run's first site drew."""
        if name not in pending:
            raise RuntimeError(f"{type(self).__name__}: site {name!r} came twice in one model "
                               f"run, or the model's sites differ from the guide's")
        return pending.pop(name)


def latent_names(trace: Trace) -> list[str]:
    """The names of the latent sample sites of an autoguide's prototype trace, in order
    (auxiliary sites left out)."""
    return [name for name, site in trace.nodes.items()
            if site["type"] == "sample" and not site["is_observed"]
            and not site["infer"].get("is_auxiliary")]
