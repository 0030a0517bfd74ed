"""``poutine.equalize``: force several sites to share the value of the first of them."""
from __future__ import annotations

import re
from collections.abc import Callable

from ..primitive_distributions import Delta
from .messenger import Messenger


class EqualizeMessenger(Messenger):
    """Give every site whose name matches ``sites`` the value of the first matching site
    of the run (e.g. one standard deviation shared by per-category sub-models).

    The first matching site runs as usual. For a later sample site the shared value is
    observed: with ``keep_dist=False`` (default) the site becomes deterministic (a
    :class:`~pyro.primitive_distributions.Delta` at the value, masked out of the log
    density, ``infer["_deterministic"]``), with ``keep_dist=True`` it keeps its
    distribution, which scores the shared value. A later param site returns the first
    one's value.

    :param sites: a site name or a list of them; each is a regular expression that must
        match a whole name (``"[a-z]+_std"`` matches ``"a_std"``, not ``"a_stdz"``).
    :param str type: the site type to equalize, ``"sample"`` (default) or ``"param"``.
    :param bool keep_dist: keep the distributions of the later sample sites.
    :raises ValueError: without ``sites``.
    """

    def __init__(self, fn: Callable | None = None, sites: str | list[str] | None = None,
                 type: str | None = "sample", keep_dist: bool | None = False) -> None:
        super().__init__(fn)
        if sites is None:
            raise ValueError("poutine.equalize needs sites=, a site name (regular expression) "
                             "or a list of them")
        self.sites = [sites] if isinstance(sites, str) else list(sites)
        self.type = "sample" if type is None else type
        self.keep_dist = bool(keep_dist)
        self._patterns = [re.compile(s) for s in self.sites]
        self.value = None

    def __enter__(self):
        self.value = None  # each run shares its own first value
        return super().__enter__()

    def _is_match(self, msg) -> bool:
        name = msg["name"]
        return (msg["type"] == self.type and name is not None
                and any(p.fullmatch(name) for p in self._patterns))

    def _process_message(self, msg) -> None:
        if self.value is None or not self._is_match(msg):
            return
        value = self.value
        msg["value"] = value
        if msg["type"] != "sample":
            return
        msg["is_observed"] = True
        if not self.keep_dist:
            event_dim = value.dim() if hasattr(value, "dim") else 0
            msg["fn"] = Delta(value, event_dim=event_dim)
            msg["mask"] = False
            msg["infer"] = {**msg["infer"], "_deterministic": True}

    def _postprocess_message(self, msg) -> None:
        if self.value is None and self._is_match(msg):
            self.value = msg["value"]
