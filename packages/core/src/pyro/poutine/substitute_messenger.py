"""``poutine.substitute``: replace param values."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from .messenger import Messenger


class SubstituteMessenger(Messenger):
    """Give param sites the values in ``data`` (a dict name -> tensor) or those returned by
    ``substitute_fn(msg)`` (None leaves the site alone). Sample sites are untouched: use
    :func:`~pyro.poutine.condition` or :func:`~pyro.poutine.replay` for those.

    Example::

        poutine.substitute(model, data={"loc": torch.tensor(3.0)})()
    """

    def __init__(self, fn: Callable | None = None, data: Mapping | None = None,
                 substitute_fn: Callable | None = None) -> None:
        super().__init__(fn)
        if data is None and substitute_fn is None:
            raise ValueError("poutine.substitute needs data= or substitute_fn=")
        self.data = {} if data is None else data
        self.substitute_fn = substitute_fn

    def _pyro_param(self, msg) -> None:
        name = msg["name"]
        if self.substitute_fn is not None:
            value = self.substitute_fn(msg)
        else:
            value = self.data.get(name)
        if value is not None:
            msg["value"] = value
            msg["done"] = True
