"""The :class:`Trace`: an ordered record of the sites of one execution."""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch

from ..primitive_distributions import ScoreParts, scale_and_mask, score_parts_of
from ..primitive_distributions.torch_distribution import (
    ExpandedDistribution,
    Independent,
    MaskedDistribution,
)
from ..primitive_distributions.util import log_prob_unchecked
from ..util import is_validation_enabled, warn_if_inf, warn_if_nan
from .runtime import is_own_draw
from .util import site_is_subsample

_IndependentConstraint = type(torch.distributions.constraints.independent(
    torch.distributions.constraints.real, 1))
# wrappers whose log_prob scores the value they are given with their base distribution
_PASS_THROUGH = (torch.distributions.Independent, ExpandedDistribution, MaskedDistribution)
# classes whose support is torch's Independent.support: the base distribution's support
# reinterpreted by ``reinterpreted_batch_ndims`` (exact classes: a subclass may change it)
_INDEPENDENT_CLASSES = frozenset((torch.distributions.Independent, Independent))

SiteFilter = Callable[[str, dict[str, Any]], bool]


def allow_all_sites(name: str, site: dict[str, Any]) -> bool:
    """The default ``site_filter`` of :class:`Trace`'s log-density methods: every site."""
    return True


_allow_all = allow_all_sites


class Trace(Mapping):
    """An ordered mapping of site name -> site (a dict with the keys of
    :class:`~pyro.poutine.runtime.Message` plus the log densities once computed), and a
    directed graph over the sites.

    ``trace.nodes`` is the same dict (Pyro's spelling). Besides sample and param sites,
    traces made by :func:`~pyro.poutine.trace` hold an ``"_INPUT"`` node (type ``"args"``)
    and a ``"_RETURN"`` node (type ``"return"``), and each plate that has a size is
    recorded as its subsample site (named after the plate; value: the indices visited).

    Edges (:meth:`add_edge`, :meth:`predecessors`, :meth:`successors`, :attr:`edges`) are
    kept apart from the sites and cost nothing until the first edge: a ``"flat"`` trace
    has none, a ``"dense"`` one (``poutine.trace(fn, graph_type="dense")``) has an edge
    from each sample site to every later one it may depend on
    (:func:`~pyro.poutine.trace_messenger.identify_dense_edges`).

    :param str graph_type: ``"flat"`` or ``"dense"``.
    :raises ValueError: for another ``graph_type``.
    """

    __slots__ = ("nodes", "graph_type", "_succ", "_pred", "plate_to_symbol", "symbol_to_dim")

    def __init__(self, graph_type: str = "flat") -> None:
        if graph_type not in ("flat", "dense"):
            raise ValueError(f"graph_type must be 'flat' or 'dense', got {graph_type!r}")
        self.nodes: dict[str, dict[str, Any]] = {}
        self.graph_type = graph_type
        # site name -> names of its successors / predecessors; only sites with an edge
        self._succ: dict[str, set[str]] = {}
        self._pred: dict[str, set[str]] = {}
        self.plate_to_symbol: dict[str, str] = {}
        self.symbol_to_dim: dict[str, int] = {}

    # ----------------------------------------------------------- mapping API

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.nodes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __repr__(self) -> str:
        return f"Trace({list(self.nodes)})"

    def add_node(self, site_name: str, **kwargs: Any) -> None:
        """Add a site whose keys are ``kwargs``. A second sample site with one name is an
        error: names identify sites across model and guide, so each must be unique.

        :raises RuntimeError: naming the site, when it duplicates a sample site."""
        old = self.nodes.get(site_name)
        if old is not None and (old.get("type") == "sample" or kwargs.get("type") == "sample") \
                and not (site_is_subsample(old) and site_is_subsample(kwargs)):
            # (a plate entered twice records its subsample site twice: the last one stays)
            raise RuntimeError(
                f"Multiple {kwargs.get('type')} sites named {site_name!r}: each site needs a "
                f"unique name. Inside a loop or a sequential plate, include the index, e.g. "
                f"pyro.sample(f'{site_name}_{{i}}', ...)"
            )
        self.nodes[site_name] = kwargs

    def add_edge(self, site1: str, site2: str) -> None:
        """Add the edge ``site1 -> site2`` (``site2`` may depend on ``site1``); a site not
        yet in the trace is added with no keys."""
        for site in (site1, site2):
            if site not in self.nodes:
                self.nodes[site] = {}
        self._succ.setdefault(site1, set()).add(site2)
        self._pred.setdefault(site2, set()).add(site1)

    def remove_node(self, site_name: str) -> None:
        """Remove a site and its edges.

        :raises KeyError: if the trace has no site ``site_name``."""
        del self.nodes[site_name]
        for pred in self._pred.pop(site_name, ()):
            self._succ[pred].discard(site_name)
        for succ in self._succ.pop(site_name, ()):
            self._pred[succ].discard(site_name)

    def predecessors(self, site_name: str) -> set[str]:
        """The sites with an edge to ``site_name`` (a new set).

        :raises KeyError: if the trace has no site ``site_name``."""
        if site_name not in self.nodes:
            raise KeyError(site_name)
        return set(self._pred.get(site_name, ()))

    def successors(self, site_name: str) -> set[str]:
        """The sites ``site_name`` has an edge to (a new set).

        :raises KeyError: if the trace has no site ``site_name``."""
        if site_name not in self.nodes:
            raise KeyError(site_name)
        return set(self._succ.get(site_name, ()))

    @property
    def edges(self) -> Iterator[tuple[str, str]]:
        """Iterate over the edges ``(site1, site2)``, grouped by ``site1`` in site order."""
        for name in self.nodes:
            for succ in self._succ.get(name, ()):
                yield name, succ

    def copy(self) -> Trace:
        """A shallow copy: new dicts for the sites (sharing their values) and the edges."""
        new = Trace(self.graph_type)
        new.nodes = {name: site.copy() for name, site in self.nodes.items()}
        if self._succ:
            new._succ = {name: set(s) for name, s in self._succ.items()}
            new._pred = {name: set(s) for name, s in self._pred.items()}
        new.plate_to_symbol = dict(self.plate_to_symbol)
        new.symbol_to_dim = dict(self.symbol_to_dim)
        return new

    def detach_(self) -> Trace:
        """Detach every site value in place (``value.detach()``), e.g. to keep a trace
        without holding on to the autograd graph of the run that made it."""
        for site in self.nodes.values():
            v = site.get("value")
            if isinstance(v, torch.Tensor):
                site["value"] = v.detach()
        return self

    # ----------------------------------------------------------- log densities

    def _sample_sites(self, site_filter: SiteFilter):
        for name, site in self.nodes.items():
            if site.get("type") == "sample" and site_filter(name, site) \
                    and not site_is_subsample(site):
                yield name, site

    def log_prob_sum(self, site_filter: SiteFilter = _allow_all) -> torch.Tensor:
        """The sum over sample sites of their scaled and masked log densities (a scalar).
        Uses the per-site ``log_prob`` cached by :meth:`compute_log_prob` when present."""
        total: torch.Tensor | float = 0.0
        for name, site in self._sample_sites(site_filter):
            term = site.get("log_prob_sum")
            if term is None:
                # (as in Pyro, only the sum is cached here, not the site's "log_prob")
                lp = site.get("log_prob")
                if lp is None:
                    lp = scale_and_mask(site_unscaled_log_prob(site), site["scale"], site["mask"])
                term = site["log_prob_sum"] = lp.sum()
            total = total + term
        if not isinstance(total, torch.Tensor):
            return torch.tensor(float(total))
        if is_validation_enabled():
            self._check_finite(total, site_filter)
        return total

    def _check_finite(self, total: torch.Tensor, site_filter: SiteFilter) -> None:
        # One check of the sum; the sites are examined only when it is NaN or +inf
        # (-inf is a legitimate zero-probability value).
        if bool(torch.isnan(total)) or bool(total == float("inf")):
            for name, site in self._sample_sites(site_filter):
                term = site.get("log_prob_sum")
                if term is not None:
                    warn_if_nan(term, f"log_prob_sum at site {name!r}")
                    warn_if_inf(term, f"log_prob_sum at site {name!r}", allow_neginf=True)

    def compute_log_prob(self, site_filter: SiteFilter = _allow_all) -> None:
        """Compute and cache on each sample site ``unscaled_log_prob`` (shape
        ``batch_shape``), ``log_prob`` (scaled and masked) and ``log_prob_sum``
        (see :func:`site_log_prob`)."""
        for _, site in self._sample_sites(site_filter):
            if "log_prob" not in site or "log_prob_sum" not in site:
                site["log_prob_sum"] = site_log_prob(site).sum()

    def compute_score_parts(self) -> None:
        """Compute ``score_parts`` (log_prob, score_function, entropy_term), scaled and
        masked, for each non-subsample sample site, plus the keys of
        :meth:`compute_log_prob` (see :func:`site_score_parts`)."""
        for _, site in self._sample_sites(_allow_all):
            if "score_parts" not in site or "log_prob" not in site \
                    or "log_prob_sum" not in site:
                site["log_prob_sum"] = site_score_parts(site).log_prob.sum()

    # ------------------------------------------------------- packed tensors

    def symbolize_dims(self, plate_to_symbol: dict[str, str] | None = None) -> None:
        """Name every tensor dim of the sample sites by a one-character symbol, the labels
        of :mod:`pyro.ops.packed` / :mod:`pyro.ops.contract` terms: each vectorized plate
        gets an even-numbered symbol (``a``, ``c``, ``e``, ... shared across sites by plate
        name), the enumeration dim of id ``k`` (``infer["_dim_to_id"]``) the odd-numbered
        symbol ``2k + 1`` (``b``, ``d``, ...).

        Sets ``infer["_dim_to_symbol"]`` (dim -> symbol) on each sample site and
        ``infer["_enumerate_symbol"]`` on enumerated ones, and the trace's
        ``plate_to_symbol`` and ``symbol_to_dim``.

        :param dict plate_to_symbol: symbols already given to plates (e.g. by the guide's
            trace, so that model and guide agree); updated in place.
        """
        plate_to_symbol = {} if plate_to_symbol is None else plate_to_symbol
        symbol_to_dim: dict[str, int] = {}
        for site in self.nodes.values():
            if site.get("type") != "sample":
                continue
            dim_to_symbol: dict[int, str] = {}
            for frame in site["cond_indep_stack"]:
                if frame.dim is None:
                    continue
                symbol = plate_to_symbol.get(frame.name)
                if symbol is None:
                    symbol = plate_to_symbol[frame.name] = _symbol(2 * len(plate_to_symbol))
                symbol_to_dim[symbol] = frame.dim
                dim_to_symbol[frame.dim] = symbol
            infer = site["infer"]
            for dim, id_ in infer.get("_dim_to_id", {}).items():
                symbol = _symbol(1 + 2 * id_)
                symbol_to_dim[symbol] = dim
                dim_to_symbol[dim] = symbol
            enum_dim = infer.get("_enumerate_dim")
            if enum_dim is not None:
                infer["_enumerate_symbol"] = dim_to_symbol[enum_dim]
            infer["_dim_to_symbol"] = dim_to_symbol
        self.plate_to_symbol = plate_to_symbol
        self.symbol_to_dim = symbol_to_dim

    def pack_tensors(self, plate_to_symbol: dict[str, str] | None = None) -> None:
        """Store on each sample site ``site["packed"]``: its ``mask`` and (once computed
        by :meth:`compute_log_prob` or :meth:`compute_score_parts`) ``log_prob``,
        ``unscaled_log_prob`` and ``score_parts`` as packed tensors
        (:func:`pyro.ops.packed.pack`: size-1 dims dropped, the others named by the
        symbols of :meth:`symbolize_dims`, which this calls).

        :param dict plate_to_symbol: as in :meth:`symbolize_dims`.
        :raises ValueError: naming the site and its shapes, when a tensor has a dim of
            size > 1 that is neither a plate's nor an enumeration dim.
        """
        from ..ops.packed import pack

        self.symbolize_dims(plate_to_symbol)
        for name, site in self.nodes.items():
            if site.get("type") != "sample":
                continue
            dim_to_symbol = site["infer"]["_dim_to_symbol"]
            packed = site.setdefault("packed", {})
            try:
                packed["mask"] = pack(site["mask"], dim_to_symbol)
                if "score_parts" in site:
                    parts = site["score_parts"]
                    packed["score_parts"] = ScoreParts(
                        *(pack(t, dim_to_symbol) for t in parts))
                    packed["log_prob"] = packed["score_parts"].log_prob
                    packed["unscaled_log_prob"] = pack(site["unscaled_log_prob"], dim_to_symbol)
                elif "log_prob" in site:
                    packed["log_prob"] = pack(site["log_prob"], dim_to_symbol)
                    packed["unscaled_log_prob"] = pack(site["unscaled_log_prob"], dim_to_symbol)
            except ValueError as e:
                raise ValueError(f"Error while packing tensors at site {name!r}: {e}\n"
                                 f"{self.format_shapes(last_site=name)}") from e

    # ------------------------------------------------------------ node views

    @property
    def param_nodes(self) -> list[str]:
        return [n for n, s in self.nodes.items() if s.get("type") == "param"]

    @property
    def stochastic_nodes(self) -> list[str]:
        """Latent (unobserved) sample sites, plate subsample sites excluded."""
        return [n for n, s in self.nodes.items()
                if s.get("type") == "sample" and not s["is_observed"] and not site_is_subsample(s)]

    @property
    def observation_nodes(self) -> list[str]:
        return [n for n, s in self.nodes.items() if s.get("type") == "sample" and s["is_observed"]]

    @property
    def reparameterized_nodes(self) -> list[str]:
        return [n for n in self.stochastic_nodes
                if getattr(self.nodes[n]["fn"], "has_rsample", False)]

    @property
    def nonreparam_stochastic_nodes(self) -> list[str]:
        return [n for n in self.stochastic_nodes
                if not getattr(self.nodes[n]["fn"], "has_rsample", False)]

    def iter_stochastic_nodes(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Iterate over ``(name, site)`` of latent sample sites (plate subsample sites
        excluded), in site order."""
        for name in self.stochastic_nodes:
            yield name, self.nodes[name]

    # ------------------------------------------------------------- display

    def format_shapes(self, title: str = "Trace Shapes:", last_site: str | None = None) -> str:
        """A table of each site's shapes, for debugging shape errors: param sites with
        their value's shape, then, for each sample site (plates included, as their
        subsample sites), rows ``dist``, ``value`` and (once computed) ``log_prob``, with
        batch dims right-aligned left of ``|`` and event dims right of it.

        :param str title: the first line.
        :param str last_site: stop after this site (e.g. where a shape error was raised).
        """
        if not self.nodes:
            return title
        params: list[list[str]] = []
        samples: list[tuple[list[str], list[str]]] = []  # (name + batch dims, event dims)
        # A plate's subsample site has the constant log density 0: shown once computed.
        has_log_prob = any("log_prob" in site for site in self.nodes.values())
        for name, site in self.nodes.items():
            kind = site.get("type")
            if kind == "param":
                params.append([str(d) for d in site["value"].shape])
            elif kind == "sample":
                samples.extend(_sample_rows(name, site, has_log_prob))
            if name == last_site:
                break
        # batch dims end left of the "|" column; param shapes end in it
        width = max([len(b) - 1 for b, _ in samples] + [len(p) - 1 for p in params] + [0])
        rows = [[title], ["Param Sites:"]]
        rows += [[name] + [""] * (width + 1 - len(p)) + p
                 for name, p in zip(self.param_nodes, params)]
        rows.append(["Sample Sites:"])
        for batch, event in samples:
            rows.append([batch[0]] + [""] * (width + 1 - len(batch)) + batch[1:] + ["|"] + event)
        ncols = max(len(r) for r in rows)
        rows = [r + [""] * (ncols - len(r)) for r in rows]
        widths = [max(len(r[i]) for r in rows) for i in range(ncols)]
        return "\n".join(" ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)


def site_unscaled_log_prob(site: dict[str, Any], prevalidated: bool = False) -> torch.Tensor:
    """``site["fn"].log_prob(site["value"])`` (shape ``batch_shape``), unscaled and
    unmasked, computed once and cached on the site as ``"unscaled_log_prob"``.

    This is the one place where a site's log density is computed: the :class:`Trace`
    methods, every ELBO and enumeration go through it (or :func:`site_log_prob` /
    :func:`site_score_parts`), so they share its caching and its error.

    Validation stays on (as in Pyro) but is not repeated where it cannot fail: observed
    data (a tensor that does not require grad) is checked against a distribution's support
    and shapes once, and again only when the tensor is modified in place or met with
    another support or shape; ``prevalidated=True`` (for a value the caller knows to be
    valid, e.g. one the guide drew from a validated distribution with the same support)
    skips the distribution's value check.

    :raises ValueError: naming the site, its distribution, batch / event shapes and the
        value's shape when the distribution cannot score the value."""
    lp = site.get("unscaled_log_prob")
    if lp is None:
        fn = site["fn"]
        value = site["value"]
        if not isinstance(value, torch.Tensor):
            value = _tensor(value)
        try:
            if getattr(fn, "_validate_args", False) and (
                prevalidated or is_own_draw(fn, value)
                or (site["is_observed"] and _data_checked(fn, value))
            ):
                lp = _log_prob_unvalidated(fn, value, site["args"], site["kwargs"])
            else:
                lp = fn.log_prob(value, *site["args"], **site["kwargs"])
                if site["is_observed"] and getattr(fn, "_validate_args", False):
                    _remember_data(fn, value)
        except ValueError as e:
            raise _site_error(site.get("name"), site, e) from e
        site["unscaled_log_prob"] = lp
    return lp


# id(data tensor) -> (weakref to it, its version, support, batch_shape, event_shape) of a
# validated log_prob call; bounded, and cleared when full
_CHECKED_DATA: dict[int, tuple[Any, int, Any, torch.Size, torch.Size]] = {}
_CHECKED_DATA_MAX = 256


def _data_checked(fn: Any, value: torch.Tensor) -> bool:
    entry = _CHECKED_DATA.get(id(value))
    return (entry is not None and entry[0]() is value and entry[1] == value._version
            and entry[2] == support_key(fn) and entry[3] == fn.batch_shape
            and entry[4] == fn.event_shape)


def support_key(fn: Any) -> Any:
    """What a distribution's value check depends on besides shapes: its support, with
    ``independent(...)`` layers (made anew by each ``Independent.support`` call) unfolded
    to ``(base constraint, reinterpreted dims)``. Equal keys check values alike; ``None``
    when the support is unknown. Constraint objects compare by identity."""
    ndims = 0
    while type(fn) in _INDEPENDENT_CLASSES:
        # what their support would wrap in a new independent(...) constraint
        ndims += fn.reinterpreted_batch_ndims
        fn = fn.base_dist
    try:
        constraint = fn.support
    except NotImplementedError:
        return None
    while isinstance(constraint, _IndependentConstraint):
        ndims += constraint.reinterpreted_batch_ndims
        constraint = constraint.base_constraint
    return (constraint, ndims) if ndims else constraint


def _remember_data(fn: Any, value: torch.Tensor) -> None:
    key = support_key(fn)
    if value.requires_grad or key is None:
        return  # not data, or nothing to compare the next call with
    if len(_CHECKED_DATA) >= _CHECKED_DATA_MAX:
        _CHECKED_DATA.clear()
    # the support object is held, so its id is not reused while the entry lives
    _CHECKED_DATA[id(value)] = (weakref.ref(value), value._version, key,
                                fn.batch_shape, fn.event_shape)


def _log_prob_unvalidated(fn: Any, value: torch.Tensor, args, kwargs) -> torch.Tensor:
    """``fn.log_prob(value)`` without the value check, of ``fn`` and of the distributions
    it wraps that score the very same value (``Independent``, masked, expanded)."""
    if not isinstance(fn, _PASS_THROUGH):
        # one distribution (the common case): its flag alone, no list
        return log_prob_unchecked(fn, value, *args, **kwargs)
    switched = []
    dist: Any = fn
    while True:
        if dist._validate_args:
            dist._validate_args = False
            switched.append(dist)
        if not isinstance(dist, _PASS_THROUGH):
            break
        dist = dist.base_dist
    try:
        return fn.log_prob(value, *args, **kwargs)
    finally:
        for dist in switched:
            dist._validate_args = True


def site_log_prob(site: dict[str, Any], prevalidated: bool = False) -> torch.Tensor:
    """The scaled and masked log density of a sample site (shape ``batch_shape``), cached
    on the site as ``"log_prob"`` (with ``"unscaled_log_prob"``; ``prevalidated`` as
    there).

    :raises ValueError: as :func:`site_unscaled_log_prob`."""
    lp = site.get("log_prob")
    if lp is None:
        lp = site["log_prob"] = scale_and_mask(site_unscaled_log_prob(site, prevalidated),
                                               site["scale"], site["mask"])
    return lp


def site_score_parts(site: dict[str, Any]) -> ScoreParts:
    """The :class:`~pyro.distributions.score_parts.ScoreParts` of a sample site:
    ``log_prob`` and ``entropy_term`` scaled and masked, ``score_function`` only masked;
    cached on the site as ``"score_parts"`` (with the keys of :func:`site_log_prob`).

    Distributions with the generic split (reparameterized iff ``has_rsample``) need only
    their ``log_prob``; others (e.g. partially reparameterized ones) are asked for their
    ``score_parts``.

    :raises ValueError: as :func:`site_unscaled_log_prob`."""
    parts = site.get("score_parts")
    if parts is not None:
        return parts
    fn = site["fn"]
    if uses_default_score_parts(fn):
        lp = site_log_prob(site)
        if fn.has_rsample:
            parts = ScoreParts(lp, 0, lp)
        else:
            sf = site["unscaled_log_prob"]
            if site["mask"] is not None:
                sf = scale_and_mask(sf, 1.0, site["mask"])
            parts = ScoreParts(lp, sf, 0)
    else:
        value = site["value"]
        try:
            raw = ScoreParts(*score_parts_of(fn, _tensor(value)))
        except ValueError as e:
            raise _site_error(site.get("name"), site, e) from e
        site["unscaled_log_prob"] = raw.log_prob
        parts = raw.scale_and_mask(site["scale"], site["mask"])
        site["log_prob"] = parts.log_prob
    site["score_parts"] = parts
    return parts


# distribution class -> True (generic score parts), False (its own), or _WRAPPER
_DEFAULT_SCORE_PARTS: dict[type, Any] = {}
_WRAPPER = object()


def uses_default_score_parts(fn: Any) -> bool:
    """Whether ``fn``'s ``score_parts`` is the generic one (reparameterized iff
    ``has_rsample``), so that its ``log_prob`` alone gives the score parts. Wrappers
    (Independent, masked, expanded) defer to their base distribution; plain torch
    distributions (no ``score_parts``) use the generic split."""
    known = _DEFAULT_SCORE_PARTS.get(type(fn))
    if known is None:
        known = _classify_score_parts(type(fn))
    if known is _WRAPPER:
        return uses_default_score_parts(fn.base_dist)
    return known


def _classify_score_parts(cls: type) -> Any:
    from ..primitive_distributions import torch_distribution as td

    method = getattr(cls, "score_parts", None)
    known: Any
    if method is None or method is td.TorchDistributionMixin.score_parts:
        known = True
    elif cls in (td.Independent, td.MaskedDistribution, td.ExpandedDistribution):
        known = _WRAPPER
    else:
        known = False
    _DEFAULT_SCORE_PARTS[cls] = known
    return known


def _sample_rows(name: str, site: dict[str, Any],
                 has_log_prob: bool) -> list[tuple[list[str], list[str]]]:
    # The dist / value / log_prob rows of format_shapes for one sample site.
    fn = site["fn"]
    event = tuple(getattr(fn, "event_shape", ()))
    rows = [([f"{name} dist"] + [str(d) for d in getattr(fn, "batch_shape", ())],
             [str(d) for d in event])]
    value = site.get("value")
    if isinstance(value, torch.Tensor):
        cut = max(value.dim() - len(event), 0)
        rows.append((["value"] + [str(d) for d in value.shape[:cut]],
                     [str(d) for d in value.shape[cut:]]))
    if "log_prob" in site:
        rows.append((["log_prob"] + [str(d) for d in site["log_prob"].shape], []))
    elif has_log_prob and site_is_subsample(site):
        rows.append((["log_prob"], []))
    return rows


_SYMBOLS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _symbol(i: int) -> str:
    # opt_einsum's symbol numbering: letters first, then code points from 192 on
    return _SYMBOLS[i] if i < len(_SYMBOLS) else chr(i + 140)


def _tensor(value: Any) -> Any:
    # A site keeps the user's value object (``condition(data={"x": 9.5})`` gives the
    # program 9.5, as in Pyro); its log density is computed at the equivalent tensor.
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return torch.tensor(value, dtype=torch.get_default_dtype())
    return value


def _site_error(name: str | None, site: dict[str, Any], err: Exception) -> ValueError:
    fn = site["fn"]
    value = site["value"]
    shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
    return ValueError(
        f"Error computing log_prob at site {name!r} ({type(fn).__name__} with batch_shape "
        f"{tuple(getattr(fn, 'batch_shape', ()))}, event_shape "
        f"{tuple(getattr(fn, 'event_shape', ()))}, value shape {shape}): {err}"
    )
