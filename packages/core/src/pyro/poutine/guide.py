"""``GuideMessenger``: a guide written as an effect handler around the model."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import torch

from ..primitive_distributions import Delta
from .messenger import Messenger
from .trace_messenger import TraceMessenger
from .trace_struct import Trace
from .util import site_is_subsample


class GuideMessenger(TraceMessenger, ABC):
    """Base class of effect-based guides: the guide runs *around* the model, and at each
    latent sample site replaces the prior by a posterior that may depend on the values
    already drawn upstream. One call ``guide(*args, **kwargs)`` thus makes both the
    model's and the guide's traces (:meth:`get_traces`).

    Subclasses implement :meth:`get_posterior`. Inside it they may call ``pyro.param``
    and ``pyro.sample`` (with ``infer={"is_auxiliary": True}``), and read
    :meth:`upstream_value`, ``self.trace`` (the sites so far) and ``self.args_kwargs``
    (the model's inputs, e.g. for amortization).

    :param model: the model (a callable).
    """

    def __init__(self, model: Callable) -> None:
        super().__init__()
        # (bypasses torch.nn.Module.__setattr__ when a subclass is also a module)
        self.__dict__["model"] = model
        self.model: Callable  # (declared for type checkers; set just above)
        self._guide_sites: set[str] = set()
        self._in_posterior = 0

    def __getstate__(self) -> dict[str, Any]:
        # the trace of the last run is not part of a saved guide
        state = self.__dict__.copy()
        state.pop("trace", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.trace = Trace(self.graph_type)

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        """Draw from the posterior and run the model on the draws.

        :returns: a dict site name -> value of every sample site of the model (latent,
            deterministic and observed; plate subsample sites excluded).
        """
        self.args_kwargs = args, kwargs
        self._guide_sites = set()
        try:
            with self:
                self.model(*args, **kwargs)
        finally:
            del self.args_kwargs
        model_trace, _ = self.get_traces()
        return {name: site["value"] for name, site in model_trace.nodes.items()
                if site["type"] == "sample" and not site_is_subsample(site)}

    # TraceMessenger skips the type dispatch on the way down; this handler needs it
    process_message = Messenger.process_message

    def _pyro_sample(self, msg) -> None:
        if self._in_posterior:
            self._guide_sites.add(msg["name"])
            return
        if msg["is_observed"] or site_is_subsample(msg):
            return
        prior = msg["fn"]
        msg["infer"] = {**msg["infer"], "prior": prior}
        self._in_posterior += 1
        try:
            posterior = self.get_posterior(msg["name"], prior)
        finally:
            self._in_posterior -= 1
        if isinstance(posterior, torch.Tensor):
            posterior = Delta(posterior, event_dim=len(prior.event_shape))
        if posterior.batch_shape != prior.batch_shape:
            posterior = posterior.expand(prior.batch_shape)
        msg["fn"] = posterior

    def _pyro_param(self, msg) -> None:
        if self._in_posterior:
            self._guide_sites.add(msg["name"])

    @abstractmethod
    def get_posterior(self, name: str, prior: Any) -> Any | torch.Tensor:
        """The posterior of site ``name`` given its ``prior`` (conditioned on the upstream
        posterior draws): a distribution of the prior's batch and event shape (or one that
        expands to them), or a value (tensor) drawn from it.

        :param str name: the site.
        :param prior: the model's distribution at the site.
        """
        raise NotImplementedError

    def upstream_value(self, name: str) -> Any:
        """For :meth:`get_posterior`: the value of the upstream sample or deterministic
        site ``name``.

        :raises KeyError: if no such site has run yet."""
        return self.trace.nodes[name]["value"]

    def get_traces(self) -> tuple[Trace, Trace]:
        """After a call, the pair ``(model_trace, guide_trace)``, as the trace-replay
        pattern would record them from one run: the model trace has the model's sites
        with each latent site's prior as ``fn``; the guide trace has the latent sites with
        their posteriors, the params and auxiliary sites made by :meth:`get_posterior`,
        and the plates."""
        model_trace = Trace(self.graph_type)
        guide_trace = Trace(self.graph_type)
        for name, site in self.trace.nodes.items():
            site = _without_log_densities(site)
            if name in self._guide_sites:
                guide_trace.nodes[name] = site
                continue
            prior = site.get("infer", {}).get("prior") if site.get("type") == "sample" else None
            if prior is not None:
                guide_trace.nodes[name] = site
                site = {**site, "fn": prior}
            elif site_is_subsample(site):
                guide_trace.nodes[name] = site.copy()
            model_trace.nodes[name] = site
        return model_trace, guide_trace


_CACHED_KEYS = ("unscaled_log_prob", "log_prob", "log_prob_sum", "score_parts", "packed")


def _without_log_densities(site: dict[str, Any]) -> dict[str, Any]:
    # A new site dict: log densities cached on one trace must not leak into the other.
    return {k: v for k, v in site.items() if k not in _CACHED_KEYS}
