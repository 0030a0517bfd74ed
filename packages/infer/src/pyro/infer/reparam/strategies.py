"""Automatic reparameterization strategies: configs for ``poutine.reparam`` that choose a
reparameterizer per site the first time the model runs."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch.distributions import constraints

import pyro.distributions as dist
from pyro import poutine

from .loc_scale import LocScaleReparam
from .projected_normal import ProjectedNormalReparam
from .reparam import Reparam
from .softmax import GumbelSoftmaxReparam
from .stable import LatentStableReparam, StableReparam, SymmetricStableReparam
from .transform import TransformReparam


class Strategy(ABC):
    """Base class of reparameterization strategies.

    A strategy is a ``config`` for ``poutine.reparam``: called on a sample site's message
    it returns a :class:`~pyro.infer.reparam.reparam.Reparam` or ``None``. The choice is
    made once per site name by :meth:`configure` and stored in :attr:`config`, which can
    then be passed itself as ``poutine.reparam(config=strategy.config)``. Called on a
    model instead, a strategy returns the model under ``poutine.reparam(config=self)``, so
    it is also a decorator::

        @MinimalReparam()
        def model(...):
            ...

    :ivar dict config: site name -> reparameterizer or ``None``, filled on the first run.
    """

    def __init__(self) -> None:
        self.config: dict[str, Reparam | None] = {}

    @abstractmethod
    def configure(self, msg: dict) -> Reparam | None:
        """The reparameterizer of a sample site, or ``None`` to leave it; called only the
        first time a site name is seen.

        :param dict msg: the sample site's message.
        """

    def __call__(self, msg_or_fn: dict | Callable):
        if isinstance(msg_or_fn, dict):
            msg = msg_or_fn
            name = msg["name"]
            if name not in self.config:
                self.config[name] = self.configure(msg)
            return self.config[name]
        return poutine.reparam(msg_or_fn, config=self)


def _unwrap(fn):
    while isinstance(fn, torch.distributions.Independent):
        fn = fn.base_dist
    return fn


def _minimal_reparam(fn, is_observed: bool) -> Reparam | None:
    fn = _unwrap(fn)
    if isinstance(fn, dist.Stable) and not isinstance(fn, dist.StableWithLogProb):
        if not is_observed:
            return LatentStableReparam()
        if not torch.jit.is_tracing() and bool((fn.skew == 0).all()):
            return SymmetricStableReparam()
        return StableReparam()
    if isinstance(fn, dist.ProjectedNormal):
        return ProjectedNormalReparam()
    if isinstance(fn, torch.distributions.TransformedDistribution):
        # reparameterize the base only where the base itself needs it
        if _minimal_reparam(fn.base_dist, is_observed) is not None:
            return TransformReparam()
    return None


class MinimalReparam(Strategy):
    """The minimal strategy: reparameterizes only the sites that inference could not
    otherwise handle. Latent ``Stable`` sites get :class:`LatentStableReparam`, observed
    ones :class:`SymmetricStableReparam` (skew 0) or :class:`StableReparam`;
    ``ProjectedNormal`` sites get :class:`ProjectedNormalReparam`; a
    ``TransformedDistribution`` of such a base gets :class:`TransformReparam`.
    ``StableWithLogProb`` sites keep their (numerical) density.
    """

    def configure(self, msg: dict) -> Reparam | None:
        return _minimal_reparam(msg["fn"], msg["is_observed"])


def _loc_scale_params(fn) -> tuple | None:
    """The shape parameters of a real location-scale family, or ``None`` if ``fn`` is
    not one."""
    if not (hasattr(fn, "loc") and hasattr(fn, "scale")) or fn.support is not constraints.real:
        return None
    names = getattr(fn, "arg_constraints", {})
    return tuple(k for k in names if k not in ("loc", "scale"))


class AutoReparam(Strategy):
    """The recommended strategy for variational inference and HMC: on latent sites,
    :class:`TransformReparam` for transformed distributions, :class:`GumbelSoftmaxReparam`
    for ``RelaxedOneHotCategorical``, a (by default learnable) :class:`LocScaleReparam`
    for real location-scale families (``Normal``, ``StudentT``, ``Cauchy``, ``Laplace``,
    ``Gumbel``, ``Stable``, ...), then what :class:`MinimalReparam` needs (also on
    observed sites).

    :param centered: centeredness of the :class:`LocScaleReparam`\\ s: ``None`` (default)
        learns it per site; a float in ``[0, 1]`` fixes it (``0.0``, fully decentered,
        suits MCMC).
    """

    def __init__(self, *, centered: float | None = None) -> None:
        if centered is not None and not 0 <= centered <= 1:
            raise ValueError(f"AutoReparam: centered must lie in [0, 1], got {centered}")
        super().__init__()
        self.centered = centered

    def configure(self, msg: dict) -> Reparam | None:
        fn, is_observed = msg["fn"], msg["is_observed"]
        if not is_observed:
            base = _unwrap(fn)
            shape_params = _loc_scale_params(base)
            # a decentered site is not decentered again
            if shape_params is not None and not msg["name"].endswith("_decentered"):
                return LocScaleReparam(self.centered, shape_params)
            if isinstance(base, torch.distributions.RelaxedOneHotCategorical):
                return GumbelSoftmaxReparam()
            if isinstance(base, torch.distributions.TransformedDistribution):
                return TransformReparam()
        return _minimal_reparam(fn, is_observed)
