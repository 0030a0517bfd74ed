"""Discrete enumeration: marking sites (:func:`config_enumerate`), enumerating them
sequentially (:func:`iter_discrete_traces`), turning enumerated traces into labelled factor
trees for :mod:`pyro.ops.contract` (:class:`EnumFactors`, :func:`enum_factor_tree`) and
drawing their posterior values (:func:`sample_enumerated`)."""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import torch

from pyro import poutine
from pyro.poutine.trace_struct import site_unscaled_log_prob

from .util import is_validation_enabled, plate_nesting, site_is_subsample

__all__ = [
    "EnumFactors",
    "config_enumerate",
    "enum_factor_tree",
    "posterior_ring",
    "sample_enumerated",
    "get_importance_trace",
    "iter_discrete_escape",
    "iter_discrete_extend",
    "iter_discrete_traces",
]

_DEFAULTS = ("sequential", "parallel", "flat", None)


def _config_fn(default, expand, num_samples, tmc, site) -> dict[str, Any]:
    if site["type"] != "sample" or site["is_observed"] or site_is_subsample(site):
        return {}
    infer = site["infer"]
    if num_samples is not None:
        return {
            "enumerate": infer.get("enumerate", default),
            "num_samples": infer.get("num_samples", num_samples),
            "expand": infer.get("expand", expand),
            "tmc": infer.get("tmc", tmc),
        }
    if getattr(site["fn"], "has_enumerate_support", False):
        return {
            "enumerate": infer.get("enumerate", default),
            "expand": infer.get("expand", expand),
        }
    return {}


def config_enumerate(
    guide: Callable | None = None,
    default: str | None = "parallel",
    expand: bool = False,
    num_samples: int | None = None,
    tmc: str = "diagonal",
) -> Callable:
    """Mark every discrete latent sample site of ``guide`` (or model) for enumeration:
    sets ``infer["enumerate"] = default`` (``"parallel"`` or ``"sequential"``) where the
    distribution has ``enumerate_support`` and the site does not set it already.
    Usable as a decorator, with or without arguments::

        @config_enumerate
        def model(data): ...

        @config_enumerate(default="sequential")
        def guide(data): ...

    :param str default: ``"parallel"``, ``"sequential"``, ``"flat"`` or ``None``.
    :param bool expand: whether enumerated values are expanded to the batch shape.
    :param int num_samples: sample this many values instead of enumerating (also for
        continuous sites).
    :raises ValueError: on an unknown ``default``.
    """
    if default not in _DEFAULTS:
        raise ValueError(
            f"config_enumerate: default must be one of {_DEFAULTS}, got {default!r}"
        )
    if guide is None:
        return lambda fn: config_enumerate(
            fn, default=default, expand=expand, num_samples=num_samples, tmc=tmc
        )
    return poutine.infer_config(
        guide, config_fn=functools.partial(_config_fn, default, expand, num_samples, tmc)
    )


def iter_discrete_escape(trace, msg) -> bool:
    """Escape predicate: a site marked ``infer={"enumerate": "sequential"}`` that is not
    yet in the partial ``trace``."""
    return (
        msg["type"] == "sample"
        and not msg["is_observed"]
        and msg["infer"].get("enumerate") == "sequential"
        and msg["name"] not in trace
    )


def iter_discrete_extend(trace, site, **ignored) -> list:
    """Extend a partial trace with every support value of ``site`` (marking each value
    with ``infer["_enum_total"]``, the size of the support)."""
    values = site["fn"].enumerate_support(expand=site["infer"].get("expand", False))
    total = len(values)
    extended = []
    for value in values:
        new = trace.copy()
        infer = {**site["infer"], "_enum_total": total}
        new.add_node(site["name"], **dict(site, value=value, infer=infer))
        extended.append(new)
    return extended


def iter_discrete_traces(graph_type: str, fn: Callable, *args, **kwargs) -> Iterator:
    """Yield every complete trace of ``fn`` over the values of its sites marked
    ``infer={"enumerate": "sequential"}`` (other sites are sampled once per trace).

    Depth first, in Pyro's order: the last support value of each site first. ``fn`` runs
    once per complete trace, plus one partial run (stopped at the site) per sequential
    site and value prefix; a program with no sequential site runs exactly once.

    :param str graph_type: ``"flat"`` or ``"dense"`` (the traces' graph type).
    """
    stack = [poutine.Trace()]
    while stack:
        partial = stack.pop()
        # the first run replays nothing: no replay handler on its sites
        replayed = poutine.replay(fn, trace=partial) if partial.nodes else fn
        tracer = poutine.trace(
            poutine.escape(
                replayed,
                escape_fn=lambda msg, partial=partial: iter_discrete_escape(partial, msg),
            ),
            graph_type=graph_type,
        )
        try:
            trace = tracer.get_trace(*args, **kwargs)
        except poutine.NonlocalExit as e:
            # pushed in support order, so the last value is visited first
            stack.extend(iter_discrete_extend(tracer.trace.copy(), e.site))
            continue
        yield trace


def warn_if_nothing_enumerated(loss_name: str, *traces, stacklevel: int = 2) -> None:
    """Warn (as Pyro does) when an enumerating loss finds no sample site of ``traces``
    marked for enumeration: it then is a costlier ``Trace_ELBO``."""
    if not any(site["type"] == "sample" and site["infer"].get("enumerate")
               for tr in traces for site in tr.nodes.values()):
        warnings.warn(
            f"{loss_name} found no sample sites configured for enumeration. To "
            "enumerate, decorate the model or guide with @config_enumerate or mark sites "
            "with infer={'enumerate': 'parallel'}; otherwise use Trace_ELBO",
            stacklevel=stacklevel + 1,
        )


def get_importance_trace(
    graph_type: str,
    max_plate_nesting: Any,
    model: Callable,
    guide: Callable,
    args: tuple,
    kwargs: dict,
    detach: bool = False,
):
    """Run ``guide``, replay ``model`` against it and return ``(model_trace,
    guide_trace)`` with log densities computed (``log_prob`` on model sites,
    ``score_parts`` on guide sites) and subsample sites pruned. Under validation, checks
    that model and guide agree and that site shapes fit ``max_plate_nesting``."""
    from pyro.poutine.util import prune_subsample_sites

    from .checks import check_model_guide_match, check_traces_site_shapes

    guide_trace = poutine.trace(guide, graph_type=graph_type).get_trace(*args, **kwargs)
    if detach:
        guide_trace.detach_()
    model_trace = poutine.trace(
        poutine.replay(model, trace=guide_trace), graph_type=graph_type
    ).get_trace(*args, **kwargs)
    if is_validation_enabled():
        check_model_guide_match(model_trace, guide_trace, max_plate_nesting)
    guide_trace = prune_subsample_sites(guide_trace)
    model_trace = prune_subsample_sites(model_trace)
    model_trace.compute_log_prob()
    guide_trace.compute_score_parts()
    if is_validation_enabled():
        nesting = max_plate_nesting
        if nesting == float("inf"):
            nesting = plate_nesting(model_trace, guide_trace)
        check_traces_site_shapes(int(nesting), model_trace, guide_trace)
    return model_trace, guide_trace


# ----------------------------------------------------------- traces as labelled factor trees


class EnumFactors:
    """Turns the log densities of enumerated traces into labelled terms for
    :mod:`pyro.ops.contract`: each tensor dim of a term gets a symbol naming what it
    stands for, a plate (by the plate's name) or an enumerated variable (by the id its
    :class:`~pyro.poutine.enum_messenger.EnumMessenger` gave it).

    Symbols name variables, not tensor dims, so that dims recycled by ``pyro.markov``
    (one dim shared by variables of non-adjacent steps) stay different variables.

    :param guide_trace: the guide trace whose enumerated variables may appear in model
        sites (replayed values), or ``None``.
    """

    def __init__(self, guide_trace=None) -> None:
        self._plates: dict[str, str] = {}
        self._vars: dict[tuple[str, int], str] = {}
        self.symbol_to_dim: dict[str, int] = {}
        self.plate_scale: dict[str, float] = {}
        self.plate_frame: dict[str, Any] = {}
        self.var_site: dict[str, str] = {}
        self._guide_dims: dict[int, int] = {}
        if guide_trace is not None:
            for site in guide_trace.nodes.values():
                if site["type"] == "sample":
                    self._guide_dims.update(site["infer"].get("_dim_to_id", {}))

    def plate_symbol(self, frame) -> str:
        sym = self._plates.get(frame.name)
        if sym is None:
            sym = self._plates[frame.name] = chr(0x3400 + len(self._plates))
            self.symbol_to_dim[sym] = frame.dim
            self.plate_frame[sym] = frame
            full = getattr(frame, "full_size", None)
            if full is not None and frame.size and full != frame.size:
                self.plate_scale[sym] = full / frame.size
        return sym

    def var_symbol(self, side: str, var_id: int, dim: int) -> str:
        sym = self._vars.get((side, var_id))
        if sym is None:
            sym = self._vars[(side, var_id)] = chr(0x4E00 + len(self._vars))
            self.symbol_to_dim[sym] = dim
        return sym

    def site_symbol(self, site, side: str) -> str | None:
        """The symbol of the variable a site enumerates (``None`` if it enumerates none)."""
        dim = site["infer"].get("_enumerate_dim")
        if dim is None:
            return None
        sym = self.var_symbol(side, site["infer"]["_dim_to_id"][dim], dim)
        self.var_site[sym] = site["name"]
        return sym

    def frames(self, ordinal) -> frozenset:
        """The plate frames of an ordinal of plate symbols."""
        return frozenset(self.plate_frame[s] for s in ordinal)

    def ordinal(self, site) -> frozenset:
        """The plate symbols of the vectorized plates around ``site``."""
        return frozenset(self.plate_symbol(f) for f in site["cond_indep_stack"] if f.vectorized)

    def pack(self, tensor, site, side: str = "model"):
        """Label ``tensor`` (a log density of ``site``, or anything of its batch shape):
        size-one dims are dropped, plate dims named after their plate, the others after
        the enumerated variable that holds them there.

        :raises ValueError: for a dim that is neither a plate of the site nor an
            enumerated variable (``max_plate_nesting`` too small, or a missing plate).
        """
        from pyro.ops.rings import label

        dims, keep = self.symbols(tensor.shape, site, side)
        # dropping size-one dims is a reshape
        return label(tensor.reshape(tuple(tensor.shape[p] for p in keep)), dims)

    def symbols(self, shape: torch.Size, site, side: str = "model") -> tuple[str, list[int]]:
        """The symbols :meth:`pack` gives a tensor of ``shape`` and the positions of the
        dims it keeps (those not of size one)."""
        plates = {f.dim: f for f in site["cond_indep_stack"] if f.vectorized}
        dim_to_id = site["infer"].get("_dim_to_id", {})
        dims = []
        keep = []
        for pos in range(len(shape)):
            d = pos - len(shape)
            if shape[pos] == 1:
                continue
            if d in plates:
                sym = self.plate_symbol(plates[d])
            elif side == "model" and d in dim_to_id:
                sym = self.var_symbol("model", dim_to_id[d], d)
            elif d in self._guide_dims:
                sym = self.var_symbol("guide", self._guide_dims[d], d)
            elif side == "guide" and d in dim_to_id:
                sym = self.var_symbol("guide", dim_to_id[d], d)
            else:
                raise ValueError(
                    f"site {site['name']!r}: its log density has shape {tuple(shape)} "
                    f"and dim {d} is neither a plate around it nor an enumerated variable; "
                    f"put the site in a pyro.plate for that dim or raise max_plate_nesting"
                )
            dims.append(sym)
            keep.append(pos)
        return "".join(dims), keep

    def unpack(self, term):
        """The inverse of :meth:`pack`: put each symbol back at its tensor dim."""
        from pyro.ops.rings import align

        dims = term._pyro_dims
        if not dims:
            return term
        depth = max(-self.symbol_to_dim[s] for s in dims)
        target = ["?"] * depth
        for s in dims:
            target[depth + self.symbol_to_dim[s]] = s
        filler = iter(chr(0x2000 + i) for i in range(depth))
        target = "".join(c if c != "?" else next(filler) for c in target)
        return align(term, dims, target)


class EnumTree(NamedTuple):
    """A trace's log densities sorted for tensor variable elimination (see
    :func:`enum_factor_tree`)."""

    packer: EnumFactors
    tree: dict[frozenset, list[Any]]   # plate symbols -> labelled log factors
    sum_syms: set                      # symbols of the variables to sum out
    plain_sites: list[dict]            # sites whose factor holds none of them
    tree_sites: list[dict]             # sites whose factor is in the tree
    scales: list[tuple[str, Any]]      # (site name, scale without subsampling) of tree sites


# The unscaled log density of a site, computed once and cached: the one log-density
# path of pyro.poutine.trace_struct (named here for the enumeration code that imports it).
site_log_prob = site_unscaled_log_prob


def enum_factor_tree(model_trace, guide_trace=None, scale_terms: bool = False) -> EnumTree:
    """Sort the sample sites of an enumerated ``model_trace`` into a plated tensor tree of
    labelled log factors (for :mod:`pyro.ops.contract`) and the sites that hold none of
    the variables the model enumerates (and ``guide_trace``, if given, does not sample).

    :param bool scale_terms: multiply each factor by its site's ``poutine.scale`` (without
        the subsampling part, which the ring applies where the plate is multiplied);
        otherwise the scales are returned for the caller to apply.
    """
    from pyro.primitive_distributions.util import scale_and_mask

    guide_nodes = guide_trace.nodes if guide_trace is not None else {}
    packer = EnumFactors(guide_trace)
    sum_syms = set()
    summed_sites = set()
    sites = []
    for name, site in model_trace.nodes.items():
        if site["type"] != "sample" or site_is_subsample(site):
            continue
        sites.append(site)
        in_guide = name in guide_nodes and guide_nodes[name]["type"] == "sample"
        if not in_guide:  # a replayed guide site's variable is the guide's
            sym = packer.site_symbol(site, "model")
            if sym is not None:
                sum_syms.add(sym)
                summed_sites.add(name)
    result = EnumTree(packer, {}, sum_syms, [], [], [])
    for site in sites:
        if not sum_syms:
            result.plain_sites.append(site)
            continue
        raw = site_unscaled_log_prob(site)
        ordinal = packer.ordinal(site)
        # the subsampling part of the site's scale is applied where its plate is multiplied
        subsample = 1.0
        for sym in ordinal:
            subsample *= packer.plate_scale.get(sym, 1.0)
        scale = site["scale"] if subsample == 1.0 else site["scale"] / subsample
        # As in Pyro, a mask does not apply to the factor of a variable the model sums
        # out: its own distribution stays normalized (a masked-out variable whose
        # dependents are masked too sums to one, not to its number of values).
        mask = None if site["name"] in summed_sites else site["mask"]
        if not isinstance(mask, torch.Tensor):
            # a factor of none of the summed variables stays a plain cost: decided from
            # its shape, without building the labelled term
            syms, _ = packer.symbols(raw.shape, site)
            if not set(syms) & sum_syms:
                result.plain_sites.append(site)
                continue
        term = packer.pack(scale_and_mask(raw, scale if scale_terms else 1.0, mask), site)
        if not set(term._pyro_dims) & sum_syms:
            result.plain_sites.append(site)
            continue
        result.tree.setdefault(ordinal, []).append(term)
        result.tree_sites.append(site)
        result.scales.append((site["name"], scale))
    return result


def posterior_ring(temperature):
    """The ring drawing posterior values: a SampleRing at temperature 1, a MapRing at 0.

    :raises ValueError: for any other temperature.
    """
    from pyro.ops.rings import MapRing, SampleRing

    if temperature == 1:
        return SampleRing()
    if temperature == 0:
        return MapRing()
    raise ValueError(f"infer_discrete: temperature must be 0 (MAP) or 1 (sample), got "
                     f"{temperature!r}")


def _support_value(site, index: torch.Tensor) -> torch.Tensor:
    """The support value at ``index`` (a batch of positions in the site's support)."""
    fn = site["fn"]
    support = fn.enumerate_support(expand=False)
    support = support.reshape((support.shape[0],) + tuple(fn.event_shape))
    return support[index.to(support.device)]


def sample_enumerated(trace, temperature=1, guide_trace=None) -> dict[str, torch.Tensor]:
    """Draw (``temperature=1``) or maximize (``temperature=0``) the joint posterior of the
    sites enumerated in ``trace`` (made under ``poutine.enum``), given the other sites.

    :returns: ``{site name: value}``; each value has the site's plate dims (and the dims of
        variables ``guide_trace`` enumerates, if any), and no enumeration dim of its own.
    """
    from pyro.ops.contract import contract_tensor_tree

    enum = enum_factor_tree(trace, guide_trace, scale_terms=True)
    if not enum.sum_syms:
        return {}
    ring = posterior_ring(temperature)
    ring.plate_scale = enum.packer.plate_scale
    contract_tensor_tree(enum.tree, enum.sum_syms, ring=ring)
    drawn = ring.backward()
    values = {}
    for sym, name in enum.packer.var_site.items():
        if sym not in enum.sum_syms:
            continue
        index = drawn[sym]
        if index._pyro_dims:
            index = enum.packer.unpack(index)
        values[name] = _support_value(trace.nodes[name], index)
    return values
