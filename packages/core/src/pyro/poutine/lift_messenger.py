"""``poutine.lift``: turn params into random variables with a prior."""
from __future__ import annotations

from typing import Callable, Mapping, Optional

import torch

from .messenger import Messenger


def _is_distribution(obj) -> bool:
    return isinstance(obj, torch.distributions.Distribution)


class LiftMessenger(Messenger):
    """Replace param sites by sample sites drawn from ``prior``.

    ``prior`` is a distribution (used for every param) or a dict ``{param name:
    distribution or stochastic function}``; params it does not name stay params. A scalar
    distribution given for a tensor-valued param is expanded to the param's shape (its
    dims become event dims, so the site has one log density).

    Example::

        lifted = poutine.lift(model, prior={"loc": dist.Normal(0.0, 10.0)})
    """

    def __init__(self, fn: Optional[Callable] = None, prior=None) -> None:
        super().__init__(fn)
        if prior is None:
            raise ValueError("poutine.lift needs prior=, a distribution or a dict of them")
        if not (_is_distribution(prior) or isinstance(prior, Mapping) or callable(prior)):
            raise TypeError(f"poutine.lift: prior must be a distribution, a dict or a callable, "
                            f"got {type(prior).__name__}")
        self.prior = prior

    def _prior_for(self, name: str):
        if isinstance(self.prior, Mapping):
            return self.prior.get(name)
        return self.prior

    def _pyro_param(self, msg) -> None:
        prior = self._prior_for(msg["name"])
        if prior is None:
            return
        if _is_distribution(prior):
            init = msg["args"][1] if len(msg["args"]) > 1 else None
            if callable(init) and not isinstance(init, torch.Tensor):
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
        else:
            # A stochastic function: its own sample sites make up the lifted value.
            msg["value"] = prior(*msg["args"][:1])
            msg["done"] = True
            msg["stop"] = True
