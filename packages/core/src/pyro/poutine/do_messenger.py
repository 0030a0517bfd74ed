"""``poutine.do``: causal intervention on sample sites."""
from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping

import torch

from .messenger import Messenger
from .runtime import apply_stack


class DoMessenger(Messenger):
    """Intervene on the sample sites named in ``data``: the program receives the given
    value, so downstream sites are affected but upstream ones are not (Pearl's do-operator).

    The original site is still sampled and recorded under its own name (the
    "counterfactual" world keeps its distribution); the intervened value is an observed
    site named ``NAME__CF`` hidden from the handlers outside.

    Example::

        intervened = pyro.do(model, data={"b": torch.tensor(10.0)})
    """

    def __init__(self, fn: Callable | None = None, data: Mapping | None = None) -> None:
        super().__init__(fn)
        if data is None:
            raise ValueError("poutine.do needs data=, a dict of site name -> value")
        self.data = data

    def _pyro_sample(self, msg) -> None:
        if msg.get("_intervener_id") is self:
            return
        value = self.data.get(msg["name"])
        if value is None:
            return
        if isinstance(value, numbers.Number):
            value = torch.as_tensor(value, dtype=torch.get_default_dtype())
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"poutine.do: intervention at site {msg['name']!r} must be a tensor or a number, "
                f"got {type(value).__name__}"
            )
        # The original site goes on, separately, through the whole stack. The handlers
        # inside this one see it a second time: start again from what they add (plate
        # frames, scale, mask), so it is not counted twice.
        original = msg.copy()
        original["_intervener_id"] = self
        original["cond_indep_stack"] = ()
        original["scale"] = 1.0
        original["mask"] = None
        original["infer"] = dict(msg["infer"])
        apply_stack(original)
        msg["_intervener_id"] = self
        msg["name"] = msg["name"] + "__CF"
        msg["value"] = value
        msg["is_observed"] = True
        msg["stop"] = True
