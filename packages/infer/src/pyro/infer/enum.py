"""Marking discrete sites for enumeration, and enumerating them sequentially."""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from pyro import poutine

from .search import iter_complete_traces
from .util import is_validation_enabled, plate_nesting, site_is_subsample

__all__ = [
    "config_enumerate",
    "get_importance_trace",
    "iter_discrete_escape",
    "iter_discrete_extend",
    "iter_discrete_traces",
]

_DEFAULTS = ("sequential", "parallel", "flat", None)


def _config_fn(default, expand, num_samples, tmc, site) -> Dict[str, Any]:
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
    guide: Optional[Callable] = None,
    default: Optional[str] = "parallel",
    expand: bool = False,
    num_samples: Optional[int] = None,
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
    """Yield every complete trace of ``fn`` over the values of its sites marked for
    sequential enumeration (other sites are sampled once per trace)."""
    yield from iter_complete_traces(
        fn, args, kwargs, escape_fn=iter_discrete_escape, extend_fn=iter_discrete_extend
    )


def get_importance_trace(
    graph_type: str,
    max_plate_nesting: Any,
    model: Callable,
    guide: Callable,
    args: Tuple,
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
