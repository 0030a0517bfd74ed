"""``poutine.replay``: reuse the values of a recorded trace."""
from __future__ import annotations

from collections.abc import Callable

from .messenger import Messenger


class ReplayMessenger(Messenger):
    """Give each sample site the value it has in ``trace`` (a guide's trace, typically),
    and each param site named in ``params`` that value.

    Observed sites keep their data. A site that is a latent sample here but not a latent
    sample site in ``trace`` raises ``RuntimeError``.

    Example::

        guide_tr = poutine.trace(guide).get_trace()
        model_tr = poutine.trace(poutine.replay(model, trace=guide_tr)).get_trace()
    """

    def __init__(self, fn: Callable | None = None, trace=None,
                 params: dict | None = None) -> None:
        super().__init__(fn)
        if trace is None and params is None:
            raise ValueError("poutine.replay needs trace= (a Trace) or params= (a dict of values)")
        self.trace = trace
        self.params = params

    def _pyro_sample(self, msg) -> None:
        if self.trace is None or msg["is_observed"]:
            return
        guide_msg = self.trace.nodes.get(msg["name"])
        if guide_msg is None:
            return
        if guide_msg["type"] != "sample" or guide_msg["is_observed"]:
            raise RuntimeError(
                f"site {msg['name']!r} is a latent sample site here but a "
                f"{'observed ' if guide_msg.get('is_observed') else ''}{guide_msg['type']} "
                f"site in the replayed trace; rename one of them"
            )
        msg["done"] = True
        msg["value"] = guide_msg["value"]
        msg["infer"] = guide_msg["infer"]

    def _pyro_param(self, msg) -> None:
        if self.params is not None and msg["name"] in self.params:
            value = self.params[msg["name"]]
            msg["value"] = value["value"] if isinstance(value, dict) else value
            msg["done"] = True
