"""The reparameterizer protocol of ``poutine.reparam``: :class:`Reparam` and its messages."""
from __future__ import annotations

import warnings
from abc import ABC
from typing import Any, TypedDict

import torch

import pyro.distributions as dist


class ReparamMessage(TypedDict):
    """The simplified message a reparameterizer receives."""

    name: str
    fn: torch.distributions.Distribution
    value: torch.Tensor | None
    is_observed: bool | None


class ReparamResult(TypedDict):
    """What a reparameterizer returns: the site's new distribution, value and flag."""

    fn: torch.distributions.Distribution
    value: torch.Tensor | None
    is_observed: bool


class Reparam(ABC):
    """Base class of reparameterizers used by ``poutine.reparam(config=...)``.

    Subclasses implement :meth:`apply`. Inside it they may call ``pyro.sample`` for
    auxiliary sites (named after the site, e.g. ``f"{name}_decentered"``); a site that
    becomes a deterministic function of those is returned as a ``Delta`` with
    ``is_observed=True``. ``self.args_kwargs`` holds the ``(args, kwargs)`` of the model
    call while :meth:`apply` runs (set by the handler).
    """

    args_kwargs: tuple[tuple, dict[str, Any]] | None = None

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        """Reparameterize one site.

        :param dict msg: ``{"name": str, "fn": distribution, "value": Tensor or None (an
            observed or initial value), "is_observed": bool}``.
        :returns: ``{"fn": ..., "value": ..., "is_observed": ...}``.
        :raises NotImplementedError: if a subclass implements neither :meth:`apply` nor the
            deprecated ``__call__(name, fn, obs)``.
        """
        if type(self).__call__ is Reparam.__call__:
            raise NotImplementedError(f"{type(self).__name__} must implement apply(msg)")
        # a subclass written for the old interface __call__(name, fn, obs) -> (fn, obs)
        warnings.warn(f"{type(self).__name__}: the interface __call__(name, fn, obs) is "
                      f"deprecated; implement apply(msg) instead", FutureWarning, stacklevel=2)
        obs = msg["value"] if msg["is_observed"] else None
        fn, value = self(msg["name"], msg["fn"], obs)
        if value is None:
            return {"fn": fn, "value": msg["value"], "is_observed": bool(msg["is_observed"])}
        return {"fn": fn, "value": value, "is_observed": True}

    def __call__(self, name: str, fn, obs: torch.Tensor | None):
        """Deprecated interface: ``(name, fn, obs) -> (new_fn, value)``, ``value`` being
        ``None`` for a latent site. Use :meth:`apply`."""
        warnings.warn("Reparam.__call__(name, fn, obs) is deprecated; use Reparam.apply(msg)",
                      FutureWarning, stacklevel=2)
        result = self.apply({"name": name, "fn": fn, "value": obs,
                             "is_observed": obs is not None})
        return result["fn"], (result["value"] if result["is_observed"] else None)

    def _unwrap(self, fn) -> tuple:
        """``(base, event_dim)``: ``fn`` without its ``Independent`` layers and the number of
        batch dims they reinterpreted."""
        event_dim = 0
        while isinstance(fn, torch.distributions.Independent):
            event_dim += fn.reinterpreted_batch_ndims
            fn = fn.base_dist
        return fn, event_dim

    def _wrap(self, fn, event_dim: int):
        """``fn`` with its ``event_dim`` rightmost batch dims reinterpreted as event dims."""
        if event_dim:
            fn = dist.Independent(fn, event_dim)
        return fn


def deterministic_site(value: torch.Tensor, event_dim: int) -> ReparamResult:
    """The result of a site that became a deterministic function of auxiliary sites: a
    masked ``Delta`` (no density of its own), marked observed."""
    return {"fn": dist.Delta(value, event_dim=event_dim).mask(mask=False), "value": value,
            "is_observed": True}
