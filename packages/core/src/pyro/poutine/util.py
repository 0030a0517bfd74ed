"""Helpers over sites and traces used by handlers and inference algorithms."""
from __future__ import annotations

from typing import Any

# The validation switch of effect handlers is the process-wide one (pyro.enable_validation);
# the subsample predicate lives beside the trace checks of pyro.util that use it.
from ..primitive_distributions.unit import Unit
from ..util import enable_validation, is_validation_enabled, site_is_subsample  # noqa: F401


def site_is_factor(site: dict[str, Any]) -> bool:
    """Whether ``site`` was made by :func:`pyro.factor`."""
    return site["type"] == "sample" and bool(site["infer"].get("is_auxiliary")) and \
        isinstance(site["fn"], Unit)


def prune_subsample_sites(trace):
    """A copy of ``trace`` without plate subsample sites."""
    trace = trace.copy()
    for name, site in list(trace.nodes.items()):
        if site_is_subsample(site):
            trace.remove_node(name)
    return trace


def enum_extend(trace, msg: dict[str, Any], num_samples=None) -> list:
    """Extend a partial trace with every value in the support of ``msg["fn"]``
    (sequential enumeration, used by :func:`~pyro.poutine.queue`)."""
    if num_samples is None:
        num_samples = -1
    extended = []
    for i, s in enumerate(msg["fn"].enumerate_support(*msg["args"], **msg["kwargs"])):
        if 0 <= num_samples <= i:
            break
        new = trace.copy()
        new.add_node(msg["name"], **dict(msg, value=s))
        extended.append(new)
    return extended


def mc_extend(trace, msg: dict[str, Any], num_samples=None) -> list:
    """Extend a partial trace with ``num_samples`` independent draws of ``msg["fn"]``."""
    if num_samples is None:
        num_samples = 1
    extended = []
    for _ in range(num_samples):
        new = trace.copy()
        fn = msg["fn"]
        new.add_node(msg["name"], **dict(msg, value=fn.sample(*msg["args"], **msg["kwargs"])))
        extended.append(new)
    return extended


def discrete_escape(trace, msg: dict[str, Any]) -> bool:
    """Escape predicate: a discrete sample site not yet in ``trace``."""
    return (msg["type"] == "sample" and not msg["is_observed"] and msg["name"] not in trace
            and getattr(msg["fn"], "has_enumerate_support", False))


def all_escape(trace, msg: dict[str, Any]) -> bool:
    """Escape predicate: any latent sample site not yet in ``trace``."""
    return msg["type"] == "sample" and not msg["is_observed"] and msg["name"] not in trace
