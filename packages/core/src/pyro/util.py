"""Process-wide switches and small helpers: RNG seeding, validation, NaN warnings, JIT
warning filters, timing, and the model/guide checks the inference algorithms run."""

from __future__ import annotations

import contextlib
import functools
import importlib
import math
import numbers
import random
import time
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import torch

_VALIDATION_ENABLED = __debug__


def set_rng_seed(rng_seed: int) -> None:
    """Seed Python's, NumPy's and torch's random number generators (all devices)."""
    torch.manual_seed(rng_seed)
    random.seed(rng_seed)
    np.random.seed(rng_seed % (2**32))


def get_rng_state() -> dict:
    return {
        "torch": torch.get_rng_state(),
        "random": random.getstate(),
        "numpy": np.random.get_state(),
        **({"cuda": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["random"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def enable_validation(is_validate: bool = True) -> None:
    """Turn validation on or off: shape checks at plates and observed sites, parameter
    checks of distributions (torch's ``validate_args`` default), constraint checks of
    ``pyro.param`` initial values, and NaN warnings in log densities. On by default when
    Python runs without ``-O``; off makes the hot paths slightly faster."""
    global _VALIDATION_ENABLED
    _VALIDATION_ENABLED = bool(is_validate)
    torch.distributions.Distribution.set_default_validate_args(bool(is_validate))


def is_validation_enabled() -> bool:
    return _VALIDATION_ENABLED


@contextlib.contextmanager
def validation_enabled(is_validate: bool = True) -> Iterator[None]:
    """Context manager that sets validation on (or off) and restores it on exit."""
    old = is_validation_enabled()
    enable_validation(is_validate)
    try:
        yield
    finally:
        enable_validation(old)


def warn_if_nan(value: Any, msg: str = "", *, filename: str | None = None, lineno=None) -> Any:
    """Warn if ``value`` (a number or tensor) contains NaN; returns ``value``."""
    if isinstance(value, torch.Tensor):
        bad = bool(torch.isnan(value).any())
    else:
        bad = value != value
    if bad:
        warnings.warn(f"Encountered NaN{': ' + msg if msg else ''}", stacklevel=2)
    return value


def warn_if_inf(
    value: Any, msg: str = "", allow_posinf: bool = False, allow_neginf: bool = False, **kwargs
) -> Any:
    """Warn if ``value`` contains +inf (unless ``allow_posinf``) or -inf (unless
    ``allow_neginf``); returns ``value``."""
    if isinstance(value, torch.Tensor):
        pos = not allow_posinf and bool((value == float("inf")).any())
        neg = not allow_neginf and bool((value == float("-inf")).any())
    else:
        pos = not allow_posinf and value == float("inf")
        neg = not allow_neginf and value == float("-inf")
    if pos:
        warnings.warn(f"Encountered +inf{': ' + msg if msg else ''}", stacklevel=2)
    if neg:
        warnings.warn(f"Encountered -inf{': ' + msg if msg else ''}", stacklevel=2)
    return value


def torch_isnan(x) -> Any:
    return torch.isnan(x).any() if isinstance(x, torch.Tensor) else x != x


def deep_getattr(obj: Any, name: str) -> Any:
    """``getattr`` through a dotted path: ``deep_getattr(m, "a.b")`` is ``m.a.b``."""
    return functools.reduce(getattr, name.split("."), obj)


def deep_setattr(obj: Any, name: str, value: Any) -> None:
    head, _, tail = name.rpartition(".")
    setattr(deep_getattr(obj, head) if head else obj, tail, value)


@contextlib.contextmanager
def optional(context_manager, condition: bool):
    """Enter ``context_manager`` only when ``condition`` holds."""
    if condition:
        with context_manager:
            yield
    else:
        yield


@contextlib.contextmanager
def ignore_jit_warnings(filter: list | None = None) -> Iterator[None]:
    """Ignore JIT tracer warnings whose message matches ``filter``; with no ``filter``
    every ``torch.jit.TracerWarning`` is ignored. Filters are installed only while code is
    being traced (``torch.jit.is_tracing()``), so eager code keeps its warnings.

    :param list filter: items that are either a message regex (str, for
        ``TracerWarning``) or a tuple ``(message regex, Warning class)``.
    """
    if not torch.jit.is_tracing():
        yield
        return
    with warnings.catch_warnings():
        if filter is None:
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        else:
            for item in filter:
                msg, category = (item, torch.jit.TracerWarning) if isinstance(item, str) else item
                warnings.filterwarnings("ignore", message=msg, category=category)
        yield


def jit_iter(tensor: torch.Tensor) -> list[torch.Tensor]:
    """The list of ``tensor``'s slices along dim 0, without the tracer warning that
    iterating over a tensor gives under ``torch.jit.trace``."""
    # torch warns about the iteration, and (newer versions) about the len() it calls
    with ignore_jit_warnings([
        ("Iterating over a tensor", torch.jit.TracerWarning),
        ("Using len to get tensor shape", torch.jit.TracerWarning),
    ]):
        return list(tensor)


class ExperimentalWarning(UserWarning):
    """Warns that an experimental feature is used (its API may change)."""


@contextlib.contextmanager
def ignore_experimental_warning() -> Iterator[None]:
    """Context manager that silences :class:`ExperimentalWarning` inside it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ExperimentalWarning)
        yield


class timed:
    """Context manager measuring wall time: after the block, ``start`` and ``end`` hold
    ``time.perf_counter()`` readings (seconds) and ``elapsed`` their difference.

    Example::

        with timed() as t:
            svi.step()
        print(t.elapsed)
    """

    def __enter__(self) -> timed:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.end = time.perf_counter()
        self.elapsed = self.end - self.start


def torch_float(x: Any) -> Any:
    """``x`` as a float: ``x.float()`` for a tensor (keeps it a tensor), else ``float(x)``."""
    return x.float() if isinstance(x, torch.Tensor) else float(x)


def torch_isinf(x: Any) -> Any:
    """Whether ``x`` (a number, or any entry of a tensor) is +inf or -inf; a bool tensor
    for tensors."""
    if isinstance(x, torch.Tensor):
        return torch.isinf(x).any()
    return isinstance(x, numbers.Number) and x in (math.inf, -math.inf)


def check_site_shape(site: dict, max_plate_nesting: int) -> None:
    """Check that a site's log-prob shape fits its plates: every batch dim left of
    ``-max_plate_nesting`` must be an enumeration dim, and each plate's dim must have the
    plate's size or 1. Raises ``ValueError`` naming the site, plate and shapes."""
    actual = site["log_prob"].shape if "log_prob" in site else site["fn"].batch_shape
    actual = torch.Size(actual)
    expected = [None] * max_plate_nesting
    for f in site["cond_indep_stack"]:
        if f.vectorized:
            if -f.dim > max_plate_nesting:
                raise ValueError(
                    f"at site {site['name']!r}, plate {f.name!r} uses dim {f.dim} but "
                    f"max_plate_nesting={max_plate_nesting}; increase max_plate_nesting to at "
                    f"least {-f.dim}"
                )
            expected[f.dim] = f.size
    for actual_size, (i, exp) in zip(reversed(actual), enumerate(reversed(expected))):
        if exp == -1:
            continue  # pyro.plate(name) without a size takes its size from the values
        if actual_size != 1 and actual_size != exp:
            where = (
                f"its plate has size {exp}"
                if exp is not None
                else "no enclosing pyro.plate uses that dim"
            )
            raise ValueError(
                f"at site {site['name']!r}, invalid log_prob shape {tuple(actual)}: dim "
                f"{-1 - i} has size {actual_size} but {where}; expected shape "
                f"{tuple(e or 1 for e in expected)}. Use .to_event(n) to declare event dims or "
                f"enclose the site in the right pyro.plate"
            )


# ------------------------------------------------------------------ trace checks


def site_is_subsample(site: dict) -> bool:
    """Whether ``site`` is the subsample site a subsampled plate records (its ``fn`` is
    the plate's ``_Subsample`` distribution; matched by name, because pyro.poutine
    imports this module)."""
    return site.get("type") == "sample" and type(site.get("fn")).__name__ == "_Subsample"


def _sample_sites(trace) -> dict:
    return {name: site for name, site in trace.nodes.items() if site["type"] == "sample"}


def _site_shape(site: dict) -> torch.Size:
    # Pyro's ``fn.shape(*args, **kwargs)``: sample_shape + batch_shape + event_shape.
    fn, args, kwargs = site["fn"], site["args"], site["kwargs"]
    sample_shape = args[0] if args else kwargs.get("sample_shape", ())
    return torch.Size(sample_shape) + fn.batch_shape + fn.event_shape


def _strip_leading_ones(shape: torch.Size) -> torch.Size:
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def _plate_names(trace) -> set[str]:
    names = set()
    for site in trace.nodes.values():
        if site["type"] != "sample":
            continue
        if site_is_subsample(site):
            names.add(site["name"])
        names.update(f.name for f in site["cond_indep_stack"])
    return names


def check_model_guide_match(model_trace, guide_trace, max_plate_nesting: float = math.inf) -> None:
    """Check that a model and its guide agree (run by the ELBOs under validation).

    1. Each latent sample site of the model is sampled by the guide (or enumerated in the
       model): warns ``"Found vars in model but not guide"`` otherwise.
    2. Each sample site of the guide is a latent site of the model or is marked
       ``infer={'is_auxiliary': True}``: warns otherwise.
    3. Each plate of the guide is a plate of the model: warns otherwise.
    4. At each site in both, model and guide agree on the number of event dims and on the
       shape ``sample_shape + batch_shape + event_shape``, comparing only the rightmost
       ``max_plate_nesting`` batch dims and ignoring leading dims of size 1.
    5. A model site marked ``infer={"enumerate": "sequential"}`` that the guide does not
       sample is refused: the ELBOs enumerate sequentially only guide-side.

    :param pyro.poutine.Trace model_trace: trace of the model (replayed against the guide).
    :param pyro.poutine.Trace guide_trace: trace of the guide.
    :param max_plate_nesting: how many batch dims (from the right) plates may use.
    :raises ValueError: if event dims or shapes disagree at a site (naming it and shapes).
    :raises NotImplementedError: for model-side sequential enumeration (5).
    """
    model_sites = {
        n: s for n, s in _sample_sites(model_trace).items() if not site_is_subsample(s)}
    guide_sites = {
        n: s for n, s in _sample_sites(guide_trace).items() if not site_is_subsample(s)}
    model_vars = {n for n, s in model_sites.items() if not s["is_observed"]}
    enum_vars = {n for n, s in model_sites.items() if s["infer"].get("_enumerate_dim") is not None}
    aux_vars = {n for n, s in guide_sites.items() if s["infer"].get("is_auxiliary")}
    guide_vars = set(guide_sites)

    for name in sorted(model_vars - guide_vars):
        if model_sites[name]["infer"].get("enumerate") == "sequential":
            raise NotImplementedError(
                f"At site {name!r}, model-side sequential enumeration is not implemented. "
                f"Try parallel enumeration or guide-side enumeration."
            )
    if guide_vars - aux_vars - model_vars:
        warnings.warn(
            "Found non-auxiliary vars in guide but not model, consider marking these "
            f"infer={{'is_auxiliary': True}}:\n{guide_vars - aux_vars - model_vars}",
            stacklevel=2,
        )
    if model_vars - guide_vars - enum_vars:
        warnings.warn(f"Found vars in model but not guide: {model_vars - guide_vars - enum_vars}",
                      stacklevel=2)

    for name in model_vars & guide_vars:
        model_site, guide_site = model_sites[name], guide_sites[name]
        model_event = len(model_site["fn"].event_shape)
        guide_event = len(guide_site["fn"].event_shape)
        if model_event != guide_event:
            raise ValueError(
                f"Model and guide event_dims disagree at site {name!r}: {model_event} vs "
                f"{guide_event}. Declare the same event dims in both (e.g. .to_event(n))"
            )
        model_shape, guide_shape = _site_shape(model_site), _site_shape(guide_site)
        if max_plate_nesting < math.inf:
            keep = int(max_plate_nesting) + model_event
            model_shape = model_shape[max(0, len(model_shape) - keep):]
            guide_shape = guide_shape[max(0, len(guide_shape) - keep):]
        if _strip_leading_ones(model_shape) != _strip_leading_ones(guide_shape):
            raise ValueError(
                f"Model and guide shapes disagree at site {name!r}: {model_shape} vs "
                f"{guide_shape}"
            )

    extra_plates = _plate_names(guide_trace) - _plate_names(model_trace)
    if extra_plates:
        warnings.warn(f"Found plate statements in guide but not model: {extra_plates}",
                      stacklevel=2)


def check_traces_match(trace1, trace2) -> None:
    """Check that two traces have the same sample sites (warns naming both sets when not)
    and that each shared site has the same shape ``sample_shape + batch_shape +
    event_shape``.

    :param pyro.poutine.Trace trace1: e.g. the trace of a model.
    :param pyro.poutine.Trace trace2: e.g. the trace of its guide.
    :raises ValueError: if the shapes differ at a site (naming it and both shapes).
    """
    sites1, sites2 = _sample_sites(trace1), _sample_sites(trace2)
    if set(sites1) != set(sites2):
        warnings.warn(f"Model vars changed: {set(sites1)} vs {set(sites2)}", stacklevel=2)
    for name in sites1.keys() & sites2.keys():
        shape1, shape2 = _site_shape(sites1[name]), _site_shape(sites2[name])
        if shape1 != shape2:
            raise ValueError(f"Site dims disagree at site {name!r}: {shape1} vs {shape2}")


def check_if_enumerated(guide_trace) -> None:
    """Warn when ``guide_trace`` has sample sites configured for enumeration
    (``infer={"enumerate": ...}``): only ``TraceEnum_ELBO`` enumerates them; other ELBOs
    sample them."""
    names = [
        name for name, site in _sample_sites(guide_trace).items()
        if site["infer"].get("enumerate")
    ]
    if names:
        warnings.warn(
            f"Found sample sites configured for enumeration: {', '.join(names)}\n"
            "If you want to enumerate sites, you need to use TraceEnum_ELBO instead.",
            stacklevel=2,
        )


def check_traceenum_requirements(model_trace, guide_trace) -> None:
    """Warn (``RuntimeWarning``) where a model or guide could easily be rewritten to clearly
    avoid invalid dependencies on enumerated variables.

    ``TraceEnum_ELBO`` enumerates over synchronized products rather than full cartesian
    products, so no variable outside a plate may depend on a variable enumerated inside
    that plate. As full dependency checking is impossible, this warns at each sample site
    that comes after a guide-enumerated site while being outside some of that site's
    vectorized plates (in the same iteration of any shared sequential plate): moving the
    site before the enumerated one makes the program obviously correct.

    :param pyro.poutine.Trace model_trace: trace of the model.
    :param pyro.poutine.Trace guide_trace: trace of the guide.
    """
    enumerated = {
        name for name, site in _sample_sites(guide_trace).items()
        if site["infer"].get("enumerate")
    }
    for role, trace in (("model", model_trace), ("guide", guide_trace)):
        counters: dict[str, dict[str, int]] = {}
        contexts: dict[frozenset, set[str]] = {}
        for name, site in _sample_sites(trace).items():
            counter = {f.name: f.counter for f in site["cond_indep_stack"] if not f.vectorized}
            context = frozenset(f for f in site["cond_indep_stack"] if f.vectorized)
            for enum_context, enum_names in contexts.items():
                if not context < enum_context:
                    continue
                # sites in other iterations of a shared sequential plate are independent
                names = sorted(
                    n for n in enum_names
                    if all(counters[n].get(p, c) == c for p, c in counter.items())
                )
                if names:
                    plates = sorted(f.name for f in enum_context - context)
                    warnings.warn(
                        "\n  ".join([
                            f'at {role} site "{name}", possibly invalid dependency.',
                            f'Expected site "{name}" to precede sites "{", ".join(names)}"',
                            f'to avoid breaking independence of plates "{", ".join(plates)}"',
                        ]),
                        RuntimeWarning,
                        stacklevel=2,
                    )
            counters[name] = counter
            if name in enumerated:
                contexts.setdefault(context, set()).add(name)


# ------------------------------------------------------------------ visualization


def import_subpackage(module: str, distribution: str, what: str | None = None) -> ModuleType:
    """Import ``module`` (e.g. ``"pyro.infer"``) for a namespace module's ``__getattr__``,
    which makes the other distributions' subpackages reachable after ``import pyro``.

    :param distribution: the distribution that ships ``module`` (``"pyro-infer"``).
    :param what: the name the user asked for, for the message (default ``module``).
    :raises AttributeError: naming ``distribution`` when ``module`` (or a package above it)
        is not installed, so that ``hasattr`` answers False; an import error raised inside
        an installed module propagates unchanged.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or not (module == e.name or module.startswith(e.name + ".")):
            raise  # the module exists but one of its own imports failed
        raise AttributeError(
            f"{what or module} is not installed: it ships with the {distribution} "
            f"distribution (pip install {distribution})"
        ) from None


def import_graphviz(caller: str, extra: str = "pyro-core[render]"):
    """The ``graphviz`` Python package, or an ImportError saying that ``caller`` needs it
    and how to install it."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            f"{caller} needs the graphviz Python package (and the Graphviz 'dot' program to "
            f"write image files): pip install {extra}  (or: pip install graphviz)"
        ) from None
    return graphviz


def save_visualization(trace, graph_output: str) -> None:
    """DEPRECATED: use :func:`pyro.render_model` instead.

    Render the sample sites of a trace made with ``poutine.trace(model,
    graph_type="dense")`` and its dependency edges, and save the drawing to
    ``graph_output + ".pdf"`` (the ``graph_output`` source file is removed). Latent
    non-reparameterized sites are salmon, reparameterized ones half salmon and half grey,
    observed ones green.

    Example::

        trace = pyro.poutine.trace(model, graph_type="dense").get_trace()
        save_visualization(trace, "output")

    :param pyro.poutine.Trace trace: a trace to draw.
    :param str graph_output: output path without the ``.pdf`` suffix.
    :raises ImportError: without the ``graphviz`` package;
        ``graphviz.ExecutableNotFound`` without the Graphviz ``dot`` program.
    """
    _trace_graph(trace).render(graph_output, view=False, cleanup=True)


def _trace_graph(trace):
    """The ``graphviz.Digraph`` that :func:`save_visualization` renders."""
    graphviz = import_graphviz("pyro.util.save_visualization")
    reparameterized = set(trace.reparameterized_nodes)
    latent = set(trace.stochastic_nodes)
    observed = set(trace.observation_nodes)
    graph = graphviz.Digraph(graph_attr={"rankdir": "TB"})
    for name in trace.nodes:
        if name in reparameterized:
            fillcolor = "lightgrey;.5:salmon"
        elif name in latent:
            fillcolor = "salmon"
        elif name in observed:
            fillcolor = "darkolivegreen3"
        else:  # params, plates' subsample sites, _INPUT, _RETURN
            continue
        graph.node(name, label=name, shape="ellipse", style="filled", fillcolor=fillcolor)
    drawn = latent | observed
    for site1, site2 in trace.edges:
        if site1 in drawn and site2 in drawn:
            graph.edge(site1, site2)
    return graph
