"""Validation of model/guide pairs (run only when ``pyro.enable_validation`` is on).

``check_model_guide_match`` is :func:`pyro.util.check_model_guide_match` (Pyro's one
implementation, re-exported here for the ELBOs)."""
from __future__ import annotations

from pyro.util import check_model_guide_match

from .util import site_is_subsample

__all__ = ["check_model_guide_match", "check_traces_site_shapes"]


def check_traces_site_shapes(max_plate_nesting: int, *traces) -> None:
    """Check every sample site's log-prob shape against its plates (see
    :func:`pyro.util.check_site_shape`)."""
    from pyro.util import check_site_shape

    for trace in traces:
        for site in trace.nodes.values():
            if site["type"] == "sample" and not site_is_subsample(site):
                check_site_shape(site, max_plate_nesting)
