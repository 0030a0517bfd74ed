"""``poutine.condition``: observe sample sites at given values."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from .messenger import Messenger
from .trace_struct import Trace


class ConditionMessenger(Messenger):
    """Fix sample sites named in ``data`` to the given values and mark them observed.

    ``data`` is a dict ``{site name: value}`` or a :class:`Trace` whose sample-site values
    are used. The value is used as given (a Python float stays a float, as in Pyro; the
    site's log density then needs a distribution that accepts it).

    Example::

        conditioned_scale = pyro.condition(scale, data={"measurement": torch.tensor(9.5)})
    """

    def __init__(self, fn: Callable | None = None, data: Mapping | None = None) -> None:
        super().__init__(fn)
        if data is None:
            raise ValueError("poutine.condition needs data=, a dict of site name -> value")
        if isinstance(data, Trace):
            data = {name: site["value"] for name, site in data.nodes.items()
                    if site["type"] == "sample"}
        elif not isinstance(data, Mapping):
            raise TypeError(f"poutine.condition expected data= to be a dict or a Trace, got "
                            f"{type(data).__name__}")
        self.data = data

    def _pyro_sample(self, msg) -> None:
        name = msg["name"]
        if name in self.data:
            value = self.data[name]
            if value is None:
                return
            # The user's object itself (a float stays that float), as in Pyro.
            msg["value"] = value
            msg["is_observed"] = True
