"""Validation of model/guide pairs (run only when ``pyro.enable_validation`` is on)."""
from __future__ import annotations

import warnings
from typing import Any

import torch

from .util import site_is_subsample

__all__ = ["check_model_guide_match", "check_traces_site_shapes"]


def _is_latent(site) -> bool:
    return site["type"] == "sample" and not site["is_observed"] and not site_is_subsample(site)


def check_model_guide_match(model_trace, guide_trace, max_plate_nesting: Any = None) -> None:
    """Check that the guide samples exactly the model's latent sites.

    Warns (naming the sites) when the guide samples a non-auxiliary site the model does
    not have, when a latent model site is missing from the guide (and is neither
    enumerated in the model nor auxiliary), and when the guide uses a subsampled plate
    the model lacks. Raises ``ValueError`` when a shared site's event shapes differ or its
    shapes do not broadcast.
    """
    model_nodes = model_trace.nodes
    guide_nodes = guide_trace.nodes
    guide_latent = [
        name
        for name, site in guide_nodes.items()
        if _is_latent(site) and not site["infer"].get("is_auxiliary")
    ]
    extra_guide = [
        name for name in guide_latent
        if name not in model_nodes or model_nodes[name]["type"] != "sample"
    ]
    if extra_guide:
        warnings.warn(
            f"Found non-auxiliary vars in guide but not model, consider marking these "
            f"infer={{'is_auxiliary': True}}: {set(extra_guide)}",
            stacklevel=3,
        )
    missing = [
        name
        for name, site in model_nodes.items()
        if _is_latent(site)
        and name not in guide_nodes
        and site["infer"].get("_enumerate_dim") is None
        and not site["infer"].get("is_auxiliary")
        and not site["infer"].get("enumerate")
    ]
    if missing:
        warnings.warn(f"Found vars in model but not guide: {set(missing)}", stacklevel=3)

    for name in guide_latent:
        model_site = model_nodes.get(name)
        if model_site is None or model_site["type"] != "sample":
            continue
        guide_fn, model_fn = guide_nodes[name]["fn"], model_site["fn"]
        g_event = tuple(getattr(guide_fn, "event_shape", ()))
        m_event = tuple(getattr(model_fn, "event_shape", ()))
        if g_event != m_event:
            raise ValueError(
                f"Model and guide event_shapes disagree at site {name!r}: model {m_event} vs "
                f"guide {g_event}. Use .to_event(n) in the guide (or model) so that both "
                f"declare the same event dims"
            )
        g_batch = tuple(getattr(guide_fn, "batch_shape", ()))
        m_batch = tuple(getattr(model_fn, "batch_shape", ()))
        try:
            torch.broadcast_shapes(g_batch, m_batch)
        except RuntimeError:
            raise ValueError(
                f"Model and guide batch_shapes do not broadcast at site {name!r}: model "
                f"{m_batch} vs guide {g_batch}. Put the site in the same plates in both"
            ) from None

    model_plates = {
        site["name"] for site in model_nodes.values() if site["type"] == "sample"
        and site_is_subsample(site)
    }
    guide_plates = {
        site["name"] for site in guide_nodes.values() if site["type"] == "sample"
        and site_is_subsample(site)
    }
    if not guide_plates <= model_plates:
        warnings.warn(
            f"Found plate statements in guide but not model: {guide_plates - model_plates}",
            stacklevel=3,
        )


def check_traces_site_shapes(max_plate_nesting: int, *traces) -> None:
    """Check every sample site's log-prob shape against its plates (see
    :func:`pyro.util.check_site_shape`)."""
    from pyro.util import check_site_shape

    for trace in traces:
        for site in trace.nodes.values():
            if site["type"] == "sample" and not site_is_subsample(site):
                check_site_shape(site, max_plate_nesting)
