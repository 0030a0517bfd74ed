"""Automatic guides: :class:`AutoGuide` (the base), :class:`AutoNormal` and
:class:`AutoDelta`.

An autoguide runs the model once (its *prototype trace*, hidden from every handler) to
find the latent sites, their shapes, supports and plates, creates one set of parameters
per site, and afterwards samples every latent site without running the model again.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch.distributions import biject_to
from torch.distributions.transforms import ComposeTransform, IndependentTransform

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.distributions import constraints
from pyro.poutine.trace_struct import Trace
from pyro.poutine.util import site_is_subsample
from pyro.util import get_rng_state, set_rng_state

from .initialization import InitMessenger, init_to_feasible, init_to_median
from .utils import check_init_scale

__all__ = ["AutoDelta", "AutoGuide", "AutoNormal", "prototype_hide_fn"]

# Pyro's import path ``pyro.infer.autoguide.guides.NAME`` for the guides this package keeps
# in modules of their own (resolved lazily: those modules import this one)
_MOVED = {
    "AutoCallable": "guide_list", "AutoGuideList": "guide_list",
    "AutoContinuous": "continuous", "AutoDiagonalNormal": "continuous",
    "AutoLowRankMultivariateNormal": "continuous", "AutoMultivariateNormal": "continuous",
    "AutoDiscreteParallel": "discrete", "AutoIAFNormal": "iaf",
    "AutoLaplaceApproximation": "laplace", "AutoNormalizingFlow": "normalizing_flow",
    "AutoBNAFNormal": "normalizing_flow",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def prototype_hide_fn(msg: dict) -> bool:
    """The ``hide_fn`` of an autoguide's prototype trace: hides every message but the
    latent sample sites (params, observed sites, plate subsample sites and other message
    types are hidden).

    :param dict msg: a message (trace site).
    :returns: whether to hide it.
    """
    return msg["type"] != "sample" or bool(msg["is_observed"]) or site_is_subsample(msg)


def _is_identity(t: Any) -> bool:
    if isinstance(t, ComposeTransform):
        return all(_is_identity(p) for p in t.parts)
    if isinstance(t, IndependentTransform):
        return _is_identity(t.base_transform)
    return False


def _periodic_repeat(tensor: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Repeat ``tensor`` along ``dim`` (negative) periodically up to length ``size``."""
    n = tensor.size(dim)
    if n == size:
        return tensor
    repeats = [1] * tensor.dim()
    repeats[dim] = -(-size // n)
    index = [slice(None)] * tensor.dim()
    index[dim] = slice(0, size)
    return tensor.repeat(*repeats)[tuple(index)]


class _Site:
    """What a guide needs about one latent site of the model (computed once)."""

    __slots__ = ("name", "fn_event_dim", "event_dim", "transform", "identity", "frames",
                 "init_loc", "support", "shape", "aux_name")

    def __init__(self, name, fn_event_dim, event_dim, transform, frames, init_loc, support,
                 shape) -> None:
        self.name = name
        self.fn_event_dim = fn_event_dim
        self.event_dim = event_dim
        self.transform = transform
        self.identity = _is_identity(transform)
        self.frames = frames
        self.init_loc = init_loc
        self.support = support
        self.shape = shape
        self.aux_name = name + "_unconstrained"  # AutoNormal's auxiliary site

    def unflatten(self, flat: torch.Tensor, owner: str) -> torch.Tensor:
        """A flat unconstrained value ``batch + (numel,)`` reshaped to the site's
        unconstrained shape, ``batch`` (plates around the guide, e.g. vectorized particles,
        which lie left of the model's plates) broadcast with the site's plate dims.

        :raises ValueError: naming ``owner`` (the guide) when ``batch`` does not fit.
        """
        shape = self.init_loc.shape
        batch = flat.shape[:-1]
        if not batch:
            return flat.reshape(shape)
        try:
            target: tuple[int, ...] | None = tuple(
                torch.broadcast_shapes(shape, batch + (1,) * self.event_dim))
        except RuntimeError:
            target = None
        if target is None or math.prod(target) != flat.numel():
            raise ValueError(
                f"{owner}: a latent value of batch shape {tuple(batch)} does not fit site "
                f"{self.name!r} of unconstrained shape {tuple(shape)}; batch dims must lie "
                f"left of the model's plates")
        return flat.reshape(target)

    def constrain(self, u: torch.Tensor):
        """``(value, log_density)``: the constrained value of the unconstrained ``u`` and
        ``log|det d u / d value|`` summed over the site's event dims (what a Delta at
        ``value`` must carry so that the guide's density is that of the constrained site)."""
        value = self.transform(u)
        log_density = self.transform.inv.log_abs_det_jacobian(value, u)
        extra = log_density.dim() - value.dim() + self.fn_event_dim
        if extra > 0:
            log_density = log_density.reshape(
                log_density.shape[: log_density.dim() - extra] + (-1,)).sum(-1)
        return value, log_density


class _ParamGroup:
    """``guide.locs`` of a guide with per-site params: ``guide.locs.z`` is the
    constrained value of ``"<prefix>.locs.z"`` (Pyro's nested PyroModule attributes)."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def __getattr__(self, name: str) -> torch.Tensor:
        if name.startswith("_"):  # e.g. copy's probes before __dict__ is restored
            raise AttributeError(name)
        full = f"{self._prefix}.{name}"
        if full not in pyro.get_param_store():
            raise AttributeError(f"no param {full!r} in the param store")
        return pyro.get_param_store()[full]

    def __repr__(self) -> str:
        return f"<params {self._prefix}.*>"


class AutoGuide(torch.nn.Module):
    """Base class of automatic guides: ``guide = AutoX(model)``; ``guide(*args)``
    samples every latent site of ``model`` and returns the dict ``{name: value}``.

    The first call (or :meth:`median`, :meth:`quantiles`...) runs the model once, hidden
    from all handlers, to record its latent sites and plates (the prototype trace).
    Sites inside vectorized plates get a plate of the same name, dim and size in the
    guide; with a subsampled plate the guide samples the subsample (so the model replays
    it) and indexes the per-element parameters by it. Sites in sequential plates are not
    supported (``ValueError``).

    :param model: the model (a callable with Pyro primitives).
    :param create_plates: optional ``(*args, **kwargs) -> plate or list of plates`` made
        by the guide instead of its own (e.g. to control subsampling).
    :param str prefix: the prefix of the guide's parameter names (default: the class
        name, giving e.g. ``"AutoNormal.locs.z"`` as in Pyro).
    """

    def __init__(self, model: Callable, *, create_plates: Callable | None = None,
                 prefix: str | None = None) -> None:
        super().__init__()
        if not callable(model):
            raise ValueError(f"{type(self).__name__} expects a model (callable), got "
                             f"{type(model).__name__}")
        self.model = model
        self.create_plates = create_plates
        self.prefix = type(self).__name__ if prefix is None else prefix
        self.prototype_trace: Trace | None = None
        self._prototype_frames: dict[str, Any] = {}
        self._sites: list[_Site] = []
        # weakref to the AutoGuideList holding this guide (whose plates it then shares)
        self._master: Callable[[], Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        # the weakref to an AutoGuideList cannot be pickled; the list re-links its parts
        state = super().__getstate__()
        state = dict(state)
        state["_master"] = None
        return state

    # ---------------------------------------------------------------- setup

    def _prototype(self) -> Trace:
        """The prototype trace (the guide must be set up)."""
        if self.prototype_trace is None:
            raise RuntimeError(f"{type(self).__name__} is not set up yet: call it (or "
                               f"median()) with the model's arguments first")
        return self.prototype_trace

    def _init_loc_fn(self) -> Callable | None:
        return getattr(self, "init_loc_fn", None)

    def _setup_prototype(self, *args, **kwargs) -> None:
        """Run the model once (hidden, with latent sites set by ``init_loc_fn``) and
        record its latent sites and their plates."""
        init_fn = self._init_loc_fn()
        model = self.model if init_fn is None else InitMessenger(init_fn)(self.model)
        # the RNG state before: restored if the parameters turn out to exist already, so
        # that a run resumed from a checkpoint draws exactly what the uninterrupted one did
        rng = get_rng_state()
        with poutine.block():
            trace = poutine.trace(model).get_trace(*args, **kwargs)
        self.prototype_trace = trace
        self._prototype_frames = {}
        self._sites = []
        for name, site in trace.nodes.items():
            if site["type"] != "sample" or site["is_observed"] or site_is_subsample(site):
                continue
            if site["infer"].get("is_auxiliary"):
                continue
            frames = self._vectorized_frames(name, site)
            fn = site["fn"]
            value = site["value"].detach()
            support = fn.support
            try:
                transform = biject_to(support)
            except NotImplementedError:
                raise ValueError(
                    f"{type(self).__name__}: site {name!r} has support {support}, which has "
                    f"no bijection to real space; autoguides handle continuous sites only "
                    f"(enumerate discrete sites with TraceEnum_ELBO and hide them with "
                    f"poutine.block)"
                ) from None
            unconstrained = transform.inv(value).detach()
            fn_event_dim = len(fn.event_shape)
            event_dim = fn_event_dim + unconstrained.dim() - value.dim()
            self._sites.append(_Site(name, fn_event_dim, event_dim, transform, frames,
                                     unconstrained, support, value.shape))
        self._setup_params()
        if self._params_exist():
            set_rng_state(rng)

    def _vectorized_frames(self, name: str, site: dict) -> tuple:
        """The plate frames of latent site ``name``, recorded among the guide's prototype
        frames; ``ValueError`` for a sequential plate (autoguides need vectorized ones)."""
        frames = []
        for frame in site["cond_indep_stack"]:
            if not frame.vectorized:
                raise ValueError(
                    f"{type(self).__name__}: latent site {name!r} is inside the "
                    f"sequential plate {frame.name!r}; autoguides need vectorized plates "
                    f"(with pyro.plate(...) as i:) or a hand-written guide"
                )
            self._prototype_frames[frame.name] = frame
            frames.append(frame)
        return tuple(frames)

    def _param_names(self) -> list[str] | None:
        """The ParamStore names of this guide's parameters once set up (``None``: not
        known; then any parameter named ``PREFIX.*`` counts)."""
        return None

    def _params_exist(self) -> bool:
        """Whether this guide's parameters are in the ParamStore (e.g. loaded from a
        checkpoint): then setting up must not consume randomness."""
        store = pyro.get_param_store()
        names = self._param_names()
        if names is None:
            start = self.prefix + "."
            return any(k.startswith(start) for k in store.keys())
        return bool(names) and all(n in store for n in names)

    def _setup_params(self) -> None:
        """Create this guide's parameters from ``self._sites`` (subclasses)."""

    def _reject_subsampled_sites(self, what: str) -> None:
        """Raise ``ValueError`` for a latent site inside a subsampled plate, for guides
        that couple the elements of their sites (``what``: the reason and the remedy)."""
        cls = type(self).__name__
        for site in self._sites:
            for frame in site.frames:
                full = frame.full_size if frame.full_size is not None else frame.size
                if full != frame.size:
                    raise ValueError(
                        f"{cls}: latent site {site.name!r} is inside the subsampled plate "
                        f"{frame.name!r} (subsample {frame.size} of {full}); {cls} {what}"
                    )

    def _full_size_init(self, site: _Site, init: torch.Tensor) -> torch.Tensor:
        """Repeat an initial value of a site in subsampled plates to the full size."""
        for frame in site.frames:
            full = frame.full_size if frame.full_size is not None else frame.size
            if full != frame.size:
                init = _periodic_repeat(init, full, frame.dim - site.event_dim).contiguous()
        return init

    def _create_plates(self, *args, **kwargs) -> dict[str, Any]:
        master = self._master() if self._master is not None else None
        if master is not None and master.plates is not None:
            # inside an AutoGuideList call: every part uses the list's plates, so that
            # parts with sites in the same subsampled plate share one subsample
            return master.plates
        plates: dict[str, Any] = {}
        if self.create_plates is not None:
            made = self.create_plates(*args, **kwargs)
            if not isinstance(made, (list, tuple)):
                made = [made]
            plates = {p.name: p for p in made}
        for name, frame in sorted(self._prototype_frames.items()):
            if name not in plates:
                full = frame.full_size if frame.full_size is not None else frame.size
                plates[name] = pyro.plate(name, full, subsample_size=frame.size, dim=frame.dim)
        return plates

    def _ensure_setup(self, args, kwargs) -> None:
        if self.prototype_trace is None:
            self._setup_prototype(*args, **kwargs)

    def _setup_and_plates(self, args, kwargs) -> dict[str, Any]:
        """The prologue of a guide's ``forward``: set up at the first call, then make the
        plates of the model's latent sites (``{name: plate}``; none without such sites)."""
        if self.prototype_trace is None:
            self._setup_prototype(*args, **kwargs)
        return self._create_plates(*args, **kwargs) if self._prototype_frames else {}

    def _subsample(self, site: _Site, value: torch.Tensor, plates: dict[str, Any],
                   event_dim: int) -> torch.Tensor:
        """Index a full-size per-element tensor by the subsample of each plate."""
        for frame in site.frames:
            plate = plates[frame.name]
            # as in Pyro: plate.size is the full size, plate.subsample_size the visited one
            full = plate.size
            dim = frame.dim - event_dim
            if plate.subsample_size != full and value.dim() >= -dim and value.size(dim) == full:
                value = value.index_select(dim, plate.indices)
        return value

    @staticmethod
    def _enter_plates(site: _Site, plates: dict[str, Any]):
        """A context manager entering the plates of ``site`` (outermost first)."""
        frames = site.frames
        if not frames:
            return contextlib.nullcontext()
        if len(frames) == 1:
            return plates[frames[0].name]  # (the plate itself: no ExitStack around it)
        stack = contextlib.ExitStack()
        for frame in site.frames:
            stack.enter_context(plates[frame.name])
        return stack

    # ------------------------------------------------------------------ API

    def median(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """The posterior median of each latent site, ``{name: value}`` (each guide family
        defines it)."""
        raise NotImplementedError(f"{type(self).__name__} defines no median")

    def sample_posterior(self, *args, num_samples: int | None = None,
                         **kwargs) -> dict[str, torch.Tensor]:
        """Draw the latent sites from the guide, hidden from enclosing handlers and
        without gradients: one draw (shapes of the sites), or ``num_samples`` draws
        stacked along a new leading dim."""
        self._ensure_setup(args, kwargs)
        with torch.no_grad(), poutine.block():
            if num_samples is None:
                return {k: v.detach() for k, v in self(*args, **kwargs).items()}
            draws = [self(*args, **kwargs) for _ in range(num_samples)]
        return {k: torch.stack([d[k].detach() for d in draws]) for k in draws[0]}

    def _param_name(self, *parts: str) -> str:
        return ".".join((self.prefix,) + parts)

    def __getattr__(self, name: str) -> Any:
        # As Pyro's autoguides (PyroModules), guide.scale / guide.locs.z read the param's
        # constrained value; parameters() keep the unconstrained leaves (see _expose).
        view = self.__dict__.get("_param_views", {}).get(name)
        if isinstance(view, _ParamGroup):
            return view
        if view is not None and view in pyro.get_param_store():
            return pyro.get_param_store()[view]
        return super().__getattr__(name)

    def _exposed_param(self, name: str, init: torch.Tensor,
                       constraint: constraints.Constraint = constraints.real) -> torch.Tensor:
        """``pyro.param(name, init, constraint=constraint)``, its unconstrained leaf also
        made one of this module's ``parameters()`` (see :meth:`_expose`)."""
        value = pyro.param(name, init, constraint=constraint)
        self._expose(name, value)
        return value

    def _expose(self, name: str, value: torch.Tensor) -> None:
        """Make the unconstrained leaf behind a param-store value one of this module's
        ``parameters()`` (so ``torch.optim`` loops and ``ELBO(...)(model, guide)`` see
        it), keyed by the param name without the prefix (dots become ``"__"``)."""
        ref = getattr(value, "unconstrained", None)
        leaf = ref() if callable(ref) else value
        keys = self.__dict__.setdefault("_expose_keys", {})  # computed once per name
        key = keys.get(name)
        if key is None:
            local = name[len(self.prefix) + 1:]
            key = keys[name] = local.replace(".", "__")
            # Pyro's attribute for it: guide.scale, or guide.locs.z for "locs.z"
            head, _, tail = local.partition(".")
            views = self.__dict__.setdefault("_param_views", {})
            views[head] = name if not tail else _ParamGroup(f"{self.prefix}.{head}")
        params = self._parameters
        if params.get(key) is not leaf and leaf is not None:
            # the param store's leaf, registered as is (it need not be an nn.Parameter)
            params[key] = cast(torch.nn.Parameter, leaf)


class AutoNormal(AutoGuide):
    """A mean-field Normal guide: each latent site ``z`` gets an independent Normal
    ``N(loc, scale)`` in unconstrained space, mapped to the support by
    ``biject_to(support)``. Parameters ``"AutoNormal.locs.z"`` and
    ``"AutoNormal.scales.z"`` (softplus-constrained), one entry per element of the site.

    As in Pyro, each site is sampled as ``z_unconstrained`` (auxiliary) and recorded at
    ``z`` as a Delta carrying the log-Jacobian of the transform (zero for real sites).

    :param model: the model.
    :param init_loc_fn: initialization strategy for the locations (default
        :func:`~pyro.infer.autoguide.initialization.init_to_feasible`).
    :param float init_scale: initial scale in unconstrained space (default 0.1).
    :param create_plates: see :class:`AutoGuide`.

    **References**

    [1] A. Kucukelbir, D. Tran, R. Ranganath, A. Gelman, D. Blei, "Automatic
        Differentiation Variational Inference", JMLR 2017.
    """

    scale_constraint = constraints.softplus_positive

    def __init__(self, model: Callable, *, init_loc_fn: Callable = init_to_feasible,
                 init_scale: float = 0.1, create_plates: Callable | None = None,
                 prefix: str | None = None) -> None:
        init_scale = check_init_scale(type(self).__name__, init_scale)
        super().__init__(model, create_plates=create_plates, prefix=prefix)
        self.init_loc_fn = init_loc_fn
        self._init_scale = init_scale

    def _setup_params(self) -> None:
        self._loc_names = {}
        self._scale_names = {}
        self._init_locs = {}
        self._init_scales = {}
        for site in self._sites:
            init_loc = self._full_size_init(site, site.init_loc)
            self._loc_names[site.name] = self._param_name("locs", site.name)
            self._scale_names[site.name] = self._param_name("scales", site.name)
            self._init_locs[site.name] = init_loc
            self._init_scales[site.name] = torch.full_like(init_loc, self._init_scale)

    def _param_names(self) -> list[str] | None:
        return list(self._loc_names.values()) + list(self._scale_names.values())

    def _loc_scale(self, site: _Site):
        loc = self._exposed_param(self._loc_names[site.name], self._init_locs[site.name])
        scale = self._exposed_param(self._scale_names[site.name], self._init_scales[site.name],
                                    self.scale_constraint)
        return loc, scale

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Sample every latent site; returns ``{name: value}`` (constrained values)."""
        plates = self._setup_and_plates(args, kwargs)
        result = {}
        for site in self._sites:
            loc, scale = self._loc_scale(site)
            if site.frames:
                loc = self._subsample(site, loc, plates, site.event_dim)
                scale = self._subsample(site, scale, plates, site.event_dim)
            base = dist.Normal(loc, scale)
            if site.event_dim:
                base = base.to_event(site.event_dim)
            with self._enter_plates(site, plates):
                # as in Pyro, every site (real ones too) is drawn as the auxiliary
                # "z_unconstrained", which programs may read from the guide's trace
                u = pyro.sample(site.aux_name, base, infer={"is_auxiliary": True})
                if site.identity:
                    # validated (free: v's constraint is dependent and log_density the
                    # number 0), so that the model's site, replaying this draw of the
                    # (validated) Normal above, needs no value check of its own
                    delta = dist.Delta(u, event_dim=site.fn_event_dim)
                else:
                    value, log_density = site.constrain(u)
                    delta = dist.Delta(value, log_density=log_density,
                                       event_dim=site.fn_event_dim)
                value = pyro.sample(site.name, delta)
            result[site.name] = value
        return result

    def median(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """The posterior median of each site: ``transform(loc)`` (full plate size),
        detached from the parameters."""
        self._ensure_setup(args, kwargs)
        with torch.no_grad():  # detach too: an identity transform returns the leaf itself
            return {site.name: site.transform(self._loc_scale(site)[0]).detach()
                    for site in self._sites}

    def quantiles(self, quantiles: Sequence[float] | torch.Tensor, *args,
                  **kwargs) -> dict[str, torch.Tensor]:
        """Marginal posterior quantiles of each site: a tensor of shape
        ``(len(quantiles),) + site_shape`` per site (``transform`` of the Normal's
        quantiles, exact since the transform is monotone elementwise), detached from the
        parameters."""
        self._ensure_setup(args, kwargs)
        result = {}
        with torch.no_grad():
            for site in self._sites:
                loc, scale = self._loc_scale(site)
                q = torch.as_tensor(quantiles, dtype=loc.dtype, device=loc.device)
                q = q.reshape((-1,) + (1,) * loc.dim())
                u = dist.Normal(loc.detach(), scale.detach()).icdf(q)
                result[site.name] = site.transform(u)
        return result


class AutoDelta(AutoGuide):
    """A point-mass guide (MAP estimation): each latent site ``z`` is a Delta at a
    parameter ``"AutoDelta.z"`` constrained to the site's support. With Trace_ELBO the
    loss is ``-log p(x, z)``, so SVI finds the posterior mode.

    :param model: the model.
    :param init_loc_fn: initialization strategy (default
        :func:`~pyro.infer.autoguide.initialization.init_to_median`).
    :param create_plates: see :class:`AutoGuide`.
    """

    def __init__(self, model: Callable, init_loc_fn: Callable = init_to_median, *,
                 create_plates: Callable | None = None, prefix: str | None = None) -> None:
        super().__init__(model, create_plates=create_plates, prefix=prefix)
        self.init_loc_fn = init_loc_fn

    def _setup_params(self) -> None:
        self._names = {}
        self._inits = {}
        for site in self._sites:
            value = self._prototype().nodes[site.name]["value"].detach()
            init_site = _Site(site.name, site.fn_event_dim, site.fn_event_dim, site.transform,
                              site.frames, value, site.support, site.shape)
            self._names[site.name] = self._param_name(site.name)
            self._inits[site.name] = self._full_size_init(init_site, value).clone()

    def _param_names(self) -> list[str] | None:
        return list(self._names.values())

    def _value(self, site: _Site) -> torch.Tensor:
        return self._exposed_param(self._names[site.name], self._inits[site.name],
                                   site.support)

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Sample (deterministically) every latent site; returns ``{name: value}``."""
        plates = self._setup_and_plates(args, kwargs)
        result = {}
        for site in self._sites:
            value = self._value(site)
            if site.frames:
                value = self._subsample(site, value, plates, site.fn_event_dim)
            # unvalidated: its log_density is the constant 0 and its value, the point
            # estimate, is validated by the model's site where the model scores it
            delta = dist.Delta(value, event_dim=site.fn_event_dim, validate_args=False)
            with self._enter_plates(site, plates):
                result[site.name] = pyro.sample(site.name, delta)
        return result

    def median(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """The point estimates (the MAP after training)."""
        self._ensure_setup(args, kwargs)
        with torch.no_grad():
            return {site.name: self._value(site).detach() for site in self._sites}

    def quantiles(self, quantiles: Sequence[float] | torch.Tensor, *args,
                  **kwargs) -> dict[str, torch.Tensor]:
        """Quantiles of the point mass: every quantile is the point estimate, a tensor of
        shape ``(len(quantiles),) + site_shape`` per site."""
        n = torch.as_tensor(quantiles).reshape(-1).numel()
        return {name: value.expand((n,) + value.shape).clone()
                for name, value in self.median(*args, **kwargs).items()}
