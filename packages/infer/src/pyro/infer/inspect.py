"""Inspecting the structure of a model: which sites depend on which
(:func:`get_dependencies`, :func:`get_model_relations`) and drawing it as a graphical
model with plates (:func:`render_model`, also ``pyro.render_model``).

Dependencies are found by running the model once with every latent value labelled by its
site name (:mod:`pyro.ops.provenance`): a site depends on the latent sites whose labels
reach its distribution.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch

import pyro
from pyro.ops.provenance import ProvenanceTensor, detach_provenance, get_provenance
from pyro.poutine.messenger import Messenger
from pyro.poutine.util import site_is_subsample
from pyro.util import import_graphviz

__all__ = ["get_dependencies", "get_model_relations", "is_sample_site", "render_model"]

# Wrappers that only reshape, mask or reinterpret dims: a site drawn from
# ``Normal(...).expand(...).to_event(1).mask(m)`` is a "Normal" site.
_WRAPPERS = ("Independent", "ExpandedDistribution", "MaskedDistribution")


def _unwrap(fn: Any) -> Any:
    while type(fn).__name__ in _WRAPPERS and hasattr(fn, "base_dist"):
        fn = fn.base_dist
    return fn


def _is_deterministic(msg: dict) -> bool:
    return bool(msg["infer"].get("_deterministic"))


def is_sample_site(msg: dict, *, include_deterministic: bool = False) -> bool:
    """Whether a trace site counts as a random variable for dependency analysis: a
    ``"sample"`` site that is not a plate's subsample site and, unless
    ``include_deterministic``, not a :func:`pyro.deterministic` site nor a site drawn
    from a ``Delta`` distribution (possibly expanded, masked or with event dims).

    :param dict msg: a site of a trace (a message).
    :param bool include_deterministic: count deterministic and Delta sites too.
    :rtype: bool
    """
    if msg["type"] != "sample" or site_is_subsample(msg):
        return False
    if not include_deterministic:
        if _is_deterministic(msg) or type(_unwrap(msg["fn"])).__name__ == "Delta":
            return False
    return True


def _distribution_provenance(fn: Any, value: Any) -> frozenset:
    """The labels reaching a distribution: through its log density at ``value`` (which
    uses every parameter) and through the tensors stored on it and on the
    distributions and transforms it wraps."""
    provenance: frozenset = frozenset()
    try:
        provenance |= get_provenance(fn.log_prob(detach_provenance(value)))
    except Exception:  # noqa: BLE001  (a log density undefined at this value: use attributes)
        pass
    seen = set()
    stack = [fn]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        for attr in vars(obj).values():
            if isinstance(attr, (torch.distributions.Distribution, torch.distributions.Transform)):
                stack.append(attr)
            elif isinstance(attr, (list, tuple)):
                stack.extend(a for a in attr if isinstance(
                    a, (torch.distributions.Distribution, torch.distributions.Transform)))
                provenance |= get_provenance(attr)
            else:
                provenance |= get_provenance(attr)
    return provenance


class _TrackProvenance(Messenger):
    """Records each site of one model run with the labels reaching it, and labels the
    values that later sites may depend on: the value of a latent site ``x`` (and of a
    param ``p`` when ``track_params``) becomes a :class:`ProvenanceTensor` labelled
    ``{"x"}``. Sites for which ``is_node(msg)`` is false are elided: their values keep the
    labels they were computed from, so dependencies pass through them."""

    def __init__(self, is_node: Callable[[dict], bool], track_params: bool) -> None:
        super().__init__()
        self.is_node = is_node
        self.track_params = track_params
        self.sites: dict[str, dict] = {}
        self.params: dict[str, dict] = {}

    def _pyro_post_sample(self, msg: dict) -> None:
        if not is_sample_site(msg, include_deterministic=True):
            return
        name = msg["name"]
        node = self.is_node(msg)
        if node:
            self.sites[name] = {
                "provenance": _distribution_provenance(msg["fn"], msg["value"]),
                "is_observed": bool(msg["is_observed"]),
                "is_deterministic": _is_deterministic(msg),
                "fn": msg["fn"],
                "plates": [f.name for f in msg["cond_indep_stack"]],
                "vectorized_plates": {f.name for f in msg["cond_indep_stack"] if f.vectorized},
            }
        # Data carries no labels; a latent (or kept deterministic) value carries its name.
        if node and (not msg["is_observed"] or _is_deterministic(msg)):
            msg["value"] = ProvenanceTensor(detach_provenance(msg["value"]), frozenset({name}))

    def _pyro_post_param(self, msg: dict) -> None:
        name = msg["name"]
        self.params[name] = {"constraint": msg["kwargs"].get("constraint")}
        if self.track_params:
            msg["value"] = ProvenanceTensor(detach_provenance(msg["value"]), frozenset({name}))


def _track(model: Callable, model_args: tuple | None, model_kwargs: dict | None,
           is_node: Callable[[dict], bool], track_params: bool) -> _TrackProvenance:
    tracker = _TrackProvenance(is_node, track_params)
    # One run, no gradients, RNG state restored; validation off so that labelled
    # values and data outside a support do not stop the inspection.
    with torch.random.fork_rng(), torch.no_grad(), pyro.validation_enabled(is_validate=False):
        with tracker:
            model(*(model_args or ()), **(model_kwargs or {}))
    return tracker


def get_dependencies(
    model: Callable,
    model_args: tuple | None = None,
    model_kwargs: dict | None = None,
    include_deterministic: bool = False,
) -> dict[str, dict[str, dict[str, set]]]:
    """Infer the dependency structure of a conditioned model, running it once.

    Returns a nested dict::

        {
            "prior_dependencies": {
                "variable1": {"variable1": set()},
                "variable2": {"variable1": set(), "variable2": set()},
                ...
            },
            "posterior_dependencies": {
                "variable1": {"variable1": {"plate1"}, "variable2": set()},
                ...
            },
        }

    - ``prior_dependencies`` maps each latent and observed site to a dict mapping the
      latent sites it depends on (directly, itself included) to sets of plates inducing
      full dependencies. An included plate means quadratically many dependencies (a
      complete bipartite graph between the elements); a plate left out means linearly
      many (parallel edges, element ``i`` on element ``i``). Prior dependencies follow
      the model order. Within plates both sites are in, dependencies are taken as
      elementwise (the analysis labels whole sites, not elements), so prior plate sets
      are empty.
    - ``posterior_dependencies`` maps each latent site to the sites it depends on in the
      posterior, in reverse model order: its children in the prior and the later
      co-parents of its children (the moral graph). A co-parent relation through a child
      outside some plates of both parents is full across those plates: for
      ``a`` in plate ``p`` and ``b = f(a.sum())`` outside it, ``a[i]`` depends on
      ``a[j]``, so ``"a": {"a": {"p"}, ...}``.

    Dependencies elide :func:`pyro.deterministic` sites and ``pyro.sample(..., Delta(...))``
    sites: a site computed from a deterministic site depends on what that site was
    computed from. With ``include_deterministic=True``, deterministic and Delta sites are
    nodes like latent sites.

    Example (no plates: every site depends on itself, and only latent sites appear in
    the posterior)::

        def model_1():
            a = pyro.sample("a", dist.Normal(0, 1))
            pyro.sample("b", dist.Normal(a, 1), obs=torch.tensor(0.0))

        assert get_dependencies(model_1) == {
            "prior_dependencies": {"a": {"a": set()}, "b": {"a": set(), "b": set()}},
            "posterior_dependencies": {"a": {"a": set(), "b": set()}},
        }

    Example (``a`` and ``b`` are independent in the prior but dependent in the
    posterior through the collider ``c``, "moralization")::

        def model_2():
            a = pyro.sample("a", dist.Normal(0, 1))
            b = pyro.sample("b", dist.LogNormal(0, 1))
            c = pyro.sample("c", dist.Normal(a, b))
            pyro.sample("d", dist.Normal(c, 1), obs=torch.tensor(0.))

        assert get_dependencies(model_2) == {
            "prior_dependencies": {
                "a": {"a": set()},
                "b": {"b": set()},
                "c": {"a": set(), "b": set(), "c": set()},
                "d": {"c": set(), "d": set()},
            },
            "posterior_dependencies": {
                "a": {"a": set(), "b": set(), "c": set()},
                "b": {"b": set(), "c": set()},
                "c": {"c": set(), "d": set()},
            },
        }

    :param callable model: the model.
    :param tuple model_args: its positional arguments.
    :param dict model_kwargs: its keyword arguments.
    :param bool include_deterministic: keep deterministic and Delta sites as nodes.
    :returns: the dict described above.
    :rtype: dict

    **References**

    [1] S. Webb, A. Goliński, R. Zinkov, N. Siddharth, T. Rainforth, Y. W. Teh, F. Wood
        (2018) "Faithful inversion of generative models for effective amortized
        inference", NeurIPS.
    """
    tracker = _track(
        model, model_args, model_kwargs,
        lambda msg: is_sample_site(msg, include_deterministic=include_deterministic),
        track_params=False,
    )
    sites = tracker.sites
    order = list(sites)
    # kept deterministic sites are functions of latent sites: nodes like them
    latent = [n for n in order if not sites[n]["is_observed"] or sites[n]["is_deterministic"]]
    plates = {n: sites[n]["vectorized_plates"] for n in order}

    prior: dict[str, dict[str, set]] = {}
    for name in order:
        prior[name] = {name: set()}
        for upstream in latent:
            if upstream != name and upstream in sites[name]["provenance"]:
                prior[name][upstream] = set()

    position = {n: i for i, n in enumerate(order)}
    posterior: dict[str, dict[str, set]] = {n: {n: set()} for n in latent}
    for child in order:
        parents = [u for u in prior[child] if u != child]
        for u in parents:
            posterior[u].setdefault(child, set())
            for v in parents:
                if position[v] < position[u]:
                    continue  # posterior dependencies point to later sites
                full = (plates[u] & plates[v]) - plates[child]
                posterior[u].setdefault(v, set()).update(full)
    return {"prior_dependencies": prior, "posterior_dependencies": posterior}


def _dist_name(site: dict) -> str:
    if site["is_deterministic"]:
        return "Deterministic"
    return type(_unwrap(site["fn"])).__name__


def get_model_relations(
    model: Callable,
    model_args: tuple | None = None,
    model_kwargs: dict | None = None,
    include_deterministic: bool = False,
) -> dict[str, Any]:
    """Infer the relations of the random variables, params and plates of a model,
    running it once (see https://github.com/pyro-ppl/pyro/issues/949).

    Returns a dict with keys:

    - ``"sample_sample"``: each sample site -> the upstream sample sites it depends on
      directly (in model order);
    - ``"sample_param"``: each sample site -> the params it depends on directly;
    - ``"sample_dist"``: each sample site -> the name of its distribution
      (``"Deterministic"`` for :func:`pyro.deterministic` sites);
    - ``"param_constraint"``: each param -> its constraint, as a string;
    - ``"plate_sample"``: each plate -> the sample sites inside it;
    - ``"observed"``: the observed sample sites.

    For example, for the model::

        def model(data):
            m = pyro.sample('m', dist.Normal(0, 1))
            sd = pyro.sample('sd', dist.LogNormal(m, 1))
            with pyro.plate('N', len(data)):
                pyro.sample('obs', dist.Normal(m, sd), obs=data)

    the relations are::

        {'sample_sample': {'m': [], 'sd': ['m'], 'obs': ['m', 'sd']},
         'sample_param': {'m': [], 'sd': [], 'obs': []},
         'sample_dist': {'m': 'Normal', 'sd': 'LogNormal', 'obs': 'Normal'},
         'param_constraint': {},
         'plate_sample': {'N': ['obs']},
         'observed': ['obs']}

    :param callable model: the model.
    :param tuple model_args: its positional arguments.
    :param dict model_kwargs: its keyword arguments.
    :param bool include_deterministic: include :func:`pyro.deterministic` sites (then
        sites computed from one depend on it); otherwise they are elided and
        dependencies pass through them.
    :rtype: dict
    """
    return {k: v for k, v in _relations(model, model_args, model_kwargs,
                                        include_deterministic).items()
            if k not in ("deterministic", "plates")}


def _relations(model: Callable, model_args: tuple | None, model_kwargs: dict | None,
               include_deterministic: bool) -> dict[str, Any]:
    # get_model_relations plus what drawing needs: the deterministic sites and each
    # site's plates (outermost first).
    tracker = _track(
        model, model_args, model_kwargs,
        lambda msg: include_deterministic or not _is_deterministic(msg),
        track_params=True,
    )
    sites, params = tracker.sites, tracker.params
    order = list(sites)
    plate_sample: dict[str, list[str]] = {}
    for name in order:
        for plate in sites[name]["plates"]:
            plate_sample.setdefault(plate, []).append(name)
    return {
        "sample_sample": {
            n: [u for u in order if u != n and u in sites[n]["provenance"]] for n in order
        },
        "sample_param": {n: [p for p in params if p in sites[n]["provenance"]] for n in order},
        "sample_dist": {n: _dist_name(sites[n]) for n in order},
        "param_constraint": {
            p: str(info["constraint"]) for p, info in params.items()
            if info["constraint"] is not None
        },
        "plate_sample": plate_sample,
        "observed": [n for n in order if sites[n]["is_observed"]],
        "deterministic": [n for n in order if sites[n]["is_deterministic"]],
        "plates": {n: sites[n]["plates"] for n in order},
    }


def _merge_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Relations of several runs of one model (e.g. a semi-supervised model with and
    without labels), with ``observed_runs`` counting the runs observing each site."""
    merged: dict[str, Any] = {
        "sample_sample": {}, "sample_param": {}, "sample_dist": {}, "param_constraint": {},
        "deterministic": set(), "plates": {}, "observed_runs": {},
    }
    for run in runs:
        for key in ("sample_sample", "sample_param"):
            for name, ups in run[key].items():
                have = merged[key].setdefault(name, [])
                have.extend(u for u in ups if u not in have)
        merged["sample_dist"].update(run["sample_dist"])
        merged["param_constraint"].update(run["param_constraint"])
        merged["deterministic"].update(run["deterministic"])
        for name, plates in run["plates"].items():
            merged["plates"].setdefault(name, plates)
            merged["observed_runs"].setdefault(name, 0)
        for name in run["observed"]:
            merged["observed_runs"][name] += 1
    merged["num_runs"] = len(runs)
    return merged


def _node_attributes(name: str, spec: dict[str, Any]) -> dict[str, str]:
    observed = spec["observed_runs"][name]
    if observed == spec["num_runs"]:
        fillcolor = "gray"
    elif observed:
        fillcolor = "gray:white"  # observed in some runs only (semi-supervised)
    else:
        fillcolor = "white"
    style = "filled,dashed" if name in spec["deterministic"] else "filled"
    return {"label": name, "shape": "ellipse", "style": style, "fillcolor": fillcolor}


def _render_graph(spec: dict[str, Any], render_distributions: bool, render_params: bool):
    graphviz = import_graphviz("pyro.render_model", extra="pyro-infer[render]")
    graph = graphviz.Digraph()
    # One cluster per plate path (outermost plate first), nested as the plates are.
    clusters: dict[tuple, list] = {}
    for name, plates in spec["plates"].items():
        clusters.setdefault(tuple(plates), []).append(name)

    # a plate met under different outer plates gets one cluster per path
    paths_of: dict[str, set] = {}
    for path in clusters:
        for i in range(len(path)):
            paths_of.setdefault(path[i], set()).add(path[:i + 1])

    def draw(g, path: tuple) -> None:
        for name in clusters.get(path, []):
            g.node(name, **_node_attributes(name, spec))
        children = []
        for other in clusters:
            if len(other) > len(path) and other[:len(path)] == path:
                child = other[:len(path) + 1]
                if child not in children:
                    children.append(child)
        for child in children:
            unique = len(paths_of[child[-1]]) == 1
            cluster = "cluster_" + (child[-1] if unique else "__".join(child))
            with g.subgraph(name=cluster) as sub:
                sub.attr(label=child[-1], labeljust="r", labelloc="b")
                draw(sub, child)

    draw(graph, ())
    if render_params:
        params = list(spec["param_constraint"])
        for ps in spec["sample_param"].values():
            params.extend(p for p in ps if p not in params)
        for param in params:
            graph.node(param, label=param, shape="plain", style="filled", fillcolor="white")
    for name, ups in spec["sample_sample"].items():
        for upstream in ups:
            graph.edge(upstream, name)
    if render_params:
        for name, params in spec["sample_param"].items():
            for param in params:
                graph.edge(param, name)
    if render_distributions:
        lines = [f"{name} ~ {d}" for name, d in spec["sample_dist"].items()]
        if render_params:
            lines += [f"{p} : {c}" for p, c in spec["param_constraint"].items()]
        graph.node("distribution_description_node", label="".join(s + "\\l" for s in lines),
                   shape="plaintext")
    return graph


def render_model(
    model: Callable,
    model_args: tuple | list[tuple] | None = None,
    model_kwargs: dict | list[dict] | None = None,
    filename: str | None = None,
    render_distributions: bool = False,
    render_params: bool = False,
    render_deterministic: bool = False,
):
    """Draw a model as a graphical model with `graphviz <https://graphviz.org>`_: one
    node per sample site (latent white, observed gray, observed in only some runs
    half-gray, deterministic dashed), edges from the sites each depends on, and plates
    as boxes labelled at the bottom right.

    Also available as ``pyro.render_model``.

    :param callable model: the model to draw (it is run once per set of arguments).
    :param model_args: a tuple of positional arguments, or a list of tuples (one run
        each, e.g. a semi-supervised model with and without labels).
    :param model_kwargs: a dict of keyword arguments, or a list of dicts (one per run).
    :param str filename: if given, also save the drawing there; its suffix (e.g.
        ``.png``, ``.svg``, ``.pdf``) chooses the format (default pdf).
    :param bool render_distributions: annotate each site with its distribution (and
        each param with its constraint, with ``render_params``).
    :param bool render_params: draw params (``pyro.param``) and their edges.
    :param bool render_deterministic: draw :func:`pyro.deterministic` sites (dashed);
        otherwise they are left out and edges pass through them.
    :returns: the graph (it displays itself in Jupyter).
    :rtype: graphviz.Digraph
    :raises ImportError: without the graphviz Python package
        (``pip install pyro-infer[render]``).
    :raises ValueError: if ``model_args`` and ``model_kwargs`` are lists of different
        lengths.
    """
    import_graphviz("pyro.render_model", extra="pyro-infer[render]")
    if isinstance(model_args, list) or isinstance(model_kwargs, list):
        n = len(model_args if isinstance(model_args, list) else cast(list, model_kwargs))
        args_list = model_args if isinstance(model_args, list) else [model_args] * n
        kwargs_list = model_kwargs if isinstance(model_kwargs, list) else [model_kwargs] * n
        if len(args_list) != len(kwargs_list):
            raise ValueError(
                f"render_model: model_args has {len(args_list)} runs but model_kwargs has "
                f"{len(kwargs_list)}; give one of each per run"
            )
    else:
        args_list, kwargs_list = [model_args], [model_kwargs]
    runs = [
        _relations(model, args, kwargs, include_deterministic=render_deterministic)
        for args, kwargs in zip(args_list, kwargs_list)
    ]
    graph = _render_graph(_merge_runs(runs), render_distributions, render_params)
    if filename is not None:
        path = Path(filename)
        fmt = path.suffix[1:] or "pdf"
        graph.render(str(path.with_suffix("")), view=False, cleanup=True, format=fmt)
    return graph
