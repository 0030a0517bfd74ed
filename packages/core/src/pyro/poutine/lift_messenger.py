"""``poutine.lift``: turn params into random variables with a prior."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from ..params.param_store import user_param_name
from .messenger import Messenger
from .runtime import get_param_store


def _is_distribution(obj) -> bool:
    return isinstance(obj, torch.distributions.Distribution)


class LiftMessenger(Messenger):
    """Replace param sites by sample sites drawn from ``prior``.

    ``prior`` is a distribution (used for every param) or a dict ``{param name:
    distribution or stochastic function}``, keyed by the param's name or, for the params
    of a :func:`pyro.module`, by the module's own name of it (``"weight"`` for
    ``"net$$$weight"``); params it does not name stay params. A scalar distribution given
    for a tensor-valued param is expanded to the param's shape (its dims become event
    dims, so the site has one log density). A lifted param read twice in one execution
    is one random variable: the second read returns the first value and is not recorded
    again.

    Example::

        lifted = poutine.lift(model, prior={"loc": dist.Normal(0.0, 10.0)})
    """

    def __init__(self, fn: Callable | None = None, prior=None) -> None:
        super().__init__(fn)
        if prior is None:
            raise ValueError("poutine.lift needs prior=, a distribution or a dict of them")
        if not (_is_distribution(prior) or isinstance(prior, Mapping) or callable(prior)):
            raise TypeError(f"poutine.lift: prior must be a distribution, a dict or a callable, "
                            f"got {type(prior).__name__}")
        self.prior = prior

    def __enter__(self):
        # Values already drawn for each lifted param in this execution: a param read twice
        # (pyro.param("loc") after pyro.param("loc", init)) is one random variable.
        self._samples: dict[str, torch.Tensor] = {}
        return super().__enter__()

    def _prior_for(self, name: str):
        if isinstance(self.prior, Mapping):
            prior = self.prior.get(name)
            if prior is None:
                # Module params ("net$$$weight") are also found by their own name ("weight").
                prior = self.prior.get(user_param_name(name))
            return prior
        return self.prior

    def _pyro_param(self, msg) -> None:
        name = msg["name"]
        prior = self._prior_for(name)
        if prior is None:
            return
        samples = self.__dict__.setdefault("_samples", {})
        if samples.get(name) is not None:
            # A repeated read of a lifted param: same value, recorded once (hidden from
            # the handlers outside, like Pyro).
            msg["type"] = "sample"
            msg["fn"] = prior if _is_distribution(prior) else msg["fn"]
            msg["args"] = ()
            msg["kwargs"] = {}
            msg["value"] = samples[name]
            msg["is_observed"] = True
            msg["done"] = True
            msg["stop"] = True
            return
        if _is_distribution(prior):
            init = msg["args"][1] if len(msg["args"]) > 1 else None
            if init is None:
                store = get_param_store()
                if store is not None and name in store:
                    init = store[name]
            elif callable(init) and not isinstance(init, torch.Tensor):
                init = init()
            shape = prior.batch_shape + prior.event_shape
            if isinstance(init, torch.Tensor) and shape == () and init.dim() > 0:
                prior = torch.distributions.Independent(prior.expand(init.shape), init.dim())
            msg["type"] = "sample"
            msg["fn"] = prior
            msg["args"] = ()
            msg["kwargs"] = {}
            msg["infer"] = {}
            msg["value"] = None
            msg["is_observed"] = False
            # remembered by _pyro_post_sample once drawn (or replayed) on the way down
            samples[name] = None
        else:
            # A stochastic function: its own sample sites make up the lifted value.
            msg["value"] = prior(*msg["args"][:1])
            msg["done"] = True
            msg["stop"] = True
            samples[name] = msg["value"]

    def _pyro_post_sample(self, msg) -> None:
        samples = self.__dict__.get("_samples")
        if samples and samples.get(msg["name"], 0) is None:
            samples[msg["name"]] = msg["value"]
