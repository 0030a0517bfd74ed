""":class:`AutoStructured`: a guide whose per-site conditionals are Delta, Normal,
MultivariateNormal or user callables, and whose latent sites depend on upstream ones
linearly (in unconstrained space) or through user callables."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.distributions import constraints

from .guides import AutoGuide, _Site
from .initialization import init_to_feasible
from .utils import check_init_scale

__all__ = ["AutoStructured"]

_CONDITIONALS = ("delta", "normal", "mvn")


def _check_type(what: str, name: str, kind: Any, allowed: tuple) -> None:
    if not (callable(kind) or kind in allowed):
        raise ValueError(f"AutoStructured: {what} of site {name!r} must be one of "
                         f"{list(allowed)} or a callable, got {kind!r}")


class AutoStructured(AutoGuide):
    """A structured guide. Each latent site ``z`` is mapped to real space by
    ``biject_to(support)`` and flattened to ``z.numel()`` numbers; in the model's order its
    unconstrained value is ``loc + noise + sum_u dep(z <- u)(delta_u)`` where

    - ``noise`` comes from the site's conditional: ``"delta"`` (none: a point mass),
      ``"normal"`` (``scale * e``), ``"mvn"`` (``scale * (scale_tril @ e)``, lower
      triangular ``scale_tril`` with a positive diagonal), ``e`` a standard Normal
      auxiliary site ``"z_aux"``; or a
      callable returning a (roughly centred) noise sample, which may call ``pyro.param``
      and ``pyro.sample`` itself;
    - ``delta_u`` is the upstream site's unconstrained offset from its ``loc`` and
      ``dep`` is ``"linear"`` (a ``(z.numel(), u.numel())`` weight, initially zero,
      ``pyro.module("AutoStructured.deps.z.u", ...)``) or a callable on flattened
      offsets.

    The map from the auxiliary noises to the values is triangular, so each site's Delta
    carries the exact log-Jacobian (``-log scale`` and ``-log diag(scale_tril)`` per
    element plus the support transform's). Parameters (Pyro's names and constraints):
    ``"AutoStructured.locs.z"``, ``".scales.z"`` (softplus-positive),
    ``".scale_trils.z"`` (softplus lower Cholesky, initially the identity).

    :param model: the model.
    :param conditionals: one conditional type for all sites or ``{site: type}``
        (default ``"mvn"``; sites not named get ``"mvn"``).
    :param dependencies: ``"linear"`` (or a callable) for every pair that is dependent
        in the posterior (``pyro.infer.inspect.get_dependencies``, moral graph), or an
        explicit ``{downstream: {upstream: type}}`` with upstream sites earlier in the
        model (no cycles or self-loops).
    :param init_loc_fn: initialization of ``loc`` (default ``init_to_feasible``).
    :param float init_scale: initial scale (default 0.1).
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :raises ValueError: for unknown conditional or dependency types, dependencies on
        unknown, later or the same sites, and latent sites in subsampled plates.

    **References**

    [1] A. Kucukelbir, D. Tran, R. Ranganath, A. Gelman, D. Blei, "Automatic
        Differentiation Variational Inference", JMLR 2017 (the unconstrained mapping).
    """

    scale_constraint = constraints.softplus_positive
    scale_tril_constraint = constraints.softplus_lower_cholesky

    def __init__(self, model: Callable, *,
                 conditionals: str | Callable | dict[str, str | Callable] = "mvn",
                 dependencies: str | Callable | dict[str, dict[str, Any]] = "linear",
                 init_loc_fn: Callable = init_to_feasible, init_scale: float = 0.1,
                 create_plates: Callable | None = None) -> None:
        init_scale = check_init_scale(type(self).__name__, init_scale)
        if isinstance(conditionals, str) or callable(conditionals):
            _check_type("conditional", "*", conditionals, _CONDITIONALS)
        if isinstance(dependencies, str) or callable(dependencies):
            _check_type("dependency", "*", dependencies, ("linear",))
        super().__init__(model, create_plates=create_plates)
        self.init_loc_fn = init_loc_fn
        self._init_scale = float(init_scale)
        self.conditionals = conditionals
        self.dependencies = dependencies
        self.deps = torch.nn.ModuleDict()

    # ---------------------------------------------------------------- setup

    def _setup_prototype(self, *args, **kwargs) -> None:
        self._args_kwargs = (args, kwargs)
        super()._setup_prototype(*args, **kwargs)

    def _auto_dependencies(self, kind: Any) -> dict[str, dict[str, Any]]:
        """``{downstream: {upstream: kind}}`` for every pair dependent in the posterior."""
        from pyro.infer.inspect import get_dependencies

        args, kwargs = self._args_kwargs
        with poutine.block():  # a prototype run: hidden from the handlers around the guide
            post = get_dependencies(self.model, args, kwargs)["posterior_dependencies"]
        latent = {s.name for s in self._sites}
        order = {s.name: i for i, s in enumerate(self._sites)}
        result: dict[str, dict[str, Any]] = {}
        for upstream, downs in post.items():
            if upstream not in latent:
                continue
            for down in downs:
                if down in latent and down != upstream and order[down] > order[upstream]:
                    result.setdefault(down, {})[upstream] = kind
        return result

    def _setup_params(self) -> None:
        self._reject_subsampled_sites(
            "couples whole sites and does not support subsampling of local latent variables "
            "(use AutoNormal for them, e.g. through AutoGuideList)")
        cls = type(self).__name__
        names = [s.name for s in self._sites]
        conds = self.conditionals
        self._conds = {n: (conds.get(n, "mvn") if isinstance(conds, dict) else conds)
                       for n in names}
        if isinstance(conds, dict):
            unknown = set(conds) - set(names)
            if unknown:
                raise ValueError(f"{cls}: conditionals name sites {sorted(unknown)} that are "
                                 f"not latent sites of the model ({names})")
        for n, kind in self._conds.items():
            _check_type("conditional", n, kind, _CONDITIONALS)
        deps = self.dependencies
        deps = self._auto_dependencies(deps) if not isinstance(deps, dict) else deps
        order = {n: i for i, n in enumerate(names)}
        for down, ups in deps.items():
            for up, kind in ups.items():
                if down not in order or up not in order:
                    raise ValueError(f"{cls}: dependency {down!r} <- {up!r} names a site that "
                                     f"is not latent in the model ({names})")
                if order[up] >= order[down]:
                    raise ValueError(
                        f"{cls}: dependency {down!r} <- {up!r}: the upstream site must come "
                        f"before the downstream one in the model (no cycles or self-loops)")
                _check_type("dependency", f"{down} <- {up}", kind, ("linear",))
        self._deps = {d: dict(ups) for d, ups in deps.items() if ups}
        sizes = {s.name: s.init_loc.numel() for s in self._sites}
        init = self._sites[0].init_loc if self._sites else torch.zeros(())
        self.deps = torch.nn.ModuleDict()
        for down, ups in self._deps.items():
            for up, kind in ups.items():
                if kind == "linear":
                    layer = torch.nn.Linear(sizes[up], sizes[down], bias=False)
                    torch.nn.init.zeros_(layer.weight)
                    kind = layer.to(device=init.device, dtype=init.dtype)
                if isinstance(kind, torch.nn.Module):  # submodules (ModuleDict keys: no dots)
                    key = down.replace(".", "__")
                    sub = self.deps[key] if key in self.deps else None
                    if not isinstance(sub, torch.nn.ModuleDict):
                        sub = self.deps[key] = torch.nn.ModuleDict()
                    sub[up.replace(".", "__")] = kind
                ups[up] = kind
        self._names: dict[str, str] = {}
        self._inits: dict[str, torch.Tensor] = {}
        for site in self._sites:
            n, flat = site.name, site.init_loc.reshape(-1)
            self._add_param("locs", n, flat.clone())
            if self._conds[n] in ("normal", "mvn"):
                self._add_param("scales", n, torch.full_like(flat, self._init_scale))
            if self._conds[n] == "mvn":
                self._add_param("scale_trils", n, torch.eye(flat.numel(), dtype=flat.dtype,
                                                            device=flat.device))

    def _add_param(self, group: str, name: str, init: torch.Tensor) -> None:
        key = f"{group}.{name}"
        self._names[key] = self._param_name(group, name)
        self._inits[key] = init

    def _param_names(self) -> list[str] | None:
        names = getattr(self, "_names", None)
        return list(names.values()) if names is not None else None

    def _param(self, group: str, name: str) -> torch.Tensor:
        key = f"{group}.{name}"
        constraint = {"scales": self.scale_constraint,
                      "scale_trils": self.scale_tril_constraint}.get(group, constraints.real)
        return self._exposed_param(self._names[key], self._inits[key], constraint)

    # ------------------------------------------------------------- sampling

    def _noise(self, site: _Site):
        """``(flat noise, flat -log|d noise / d e|)`` of one site's conditional."""
        kind, n = self._conds[site.name], site.name
        if kind == "delta":
            return None, None
        if callable(kind):
            if isinstance(kind, torch.nn.Module):
                pyro.module(self._param_name("conditionals", n), kind)
            return kind().reshape(-1), None
        size = site.init_loc.numel()
        loc = self._param("locs", n)
        e = pyro.sample(f"{n}_aux", dist.Normal(loc.new_zeros(()), 1.0).expand([size])
                        .to_event(1), infer={"is_auxiliary": True})
        scale = self._param("scales", n)
        neg_log_scale = -scale.log()
        if kind == "mvn":
            tril = self._param("scale_trils", n)
            e = (tril @ e.unsqueeze(-1)).squeeze(-1)
            neg_log_scale = neg_log_scale - tril.diagonal(dim1=-2, dim2=-1).log()
        return scale * e, neg_log_scale

    def _dependency(self, down: str, up: str, kind: Any, delta: torch.Tensor) -> torch.Tensor:
        if isinstance(kind, torch.nn.Module):
            pyro.module(self._param_name("deps", down, up), kind)
        return kind(delta)

    def get_deltas(self, *args, **kwargs) -> dict[str, dist.Delta]:
        """Sample the auxiliary noises and return ``{site: Delta}`` of every latent site
        (constrained value with its log-Jacobian; event dim of the site). The values
        have the sites' shapes (no plate batch dims are added)."""
        if self.prototype_trace is None:
            self._setup_prototype(*args, **kwargs)
        deltas: dict[str, torch.Tensor] = {}
        result: dict[str, dist.Delta] = {}
        for site in self._sites:
            n = site.name
            loc = self._param("locs", n)
            noise, neg_log_scale = self._noise(site)
            delta = loc.new_zeros(loc.shape) if noise is None else noise
            for up, kind in self._deps.get(n, {}).items():
                delta = delta + self._dependency(n, up, kind, deltas[up])
            deltas[n] = delta
            u = site.unflatten(loc + delta, type(self).__name__)
            value, log_density = site.constrain(u)
            if self._conds[n] == "delta":
                log_density = 0.0  # a point mass carries no density (as AutoDelta)
            elif neg_log_scale is not None:
                log_density = log_density + self._sum_event(site, neg_log_scale)
            result[n] = dist.Delta(value, log_density=log_density, event_dim=site.fn_event_dim)
        return result


    @staticmethod
    def _sum_event(site: _Site, flat: torch.Tensor) -> torch.Tensor:
        """A per-element flat tensor reshaped to the site's unconstrained shape and
        summed over its event dims (giving the Delta's batch shape)."""
        value = flat.reshape(site.init_loc.shape)
        return value.reshape(value.shape[: value.dim() - site.event_dim] + (-1,)).sum(-1) \
            if site.event_dim else value

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Sample every latent site; returns ``{name: constrained value}``."""
        plates = self._setup_and_plates(args, kwargs)
        result = {}
        deltas = self.get_deltas(*args, **kwargs)
        for site in self._sites:
            with self._enter_plates(site, plates):
                result[site.name] = pyro.sample(site.name, deltas[site.name])
        return result

    def median(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """``transform(loc)`` of every latent site (the posterior median when all
        conditionals are Normal or MVN)."""
        if self.prototype_trace is None:
            self._setup_prototype(*args, **kwargs)
        with torch.no_grad():
            return {s.name: s.transform(self._param("locs", s.name).reshape(s.init_loc.shape))
                    .detach() for s in self._sites}
