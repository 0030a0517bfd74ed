"""``poutine.infer_config``: set inference hints per site."""
from __future__ import annotations

from collections.abc import Callable

from .messenger import Messenger


class InferConfigMessenger(Messenger):
    """Update each sample and param site's ``infer`` dict with ``config_fn(msg)``.

    Example::

        poutine.infer_config(model, lambda msg: {"enumerate": "parallel"}
                             if msg["name"] == "z" else {})
    """

    def __init__(self, fn: Callable | None = None, config_fn: Callable | None = None) -> None:
        super().__init__(fn)
        if config_fn is None or not callable(config_fn):
            raise ValueError("poutine.infer_config needs config_fn=, a function msg -> dict")
        self.config_fn = config_fn

    def _pyro_sample(self, msg) -> None:
        config = self.config_fn(msg)
        if config:
            msg["infer"] = {**msg["infer"], **config}

    _pyro_param = _pyro_sample
