"""Helpers shared by the ELBOs and the other inference algorithms.

Everything here runs per SVI step (some of it per site), so each helper does nothing when
there is nothing to do: no tensor is made for a Python zero, no sync is forced.
"""
from __future__ import annotations

import math
from typing import Any, Dict, FrozenSet, Iterable, Optional

import torch

from pyro.poutine.util import site_is_subsample
from pyro.primitive_distributions.util import is_identically_one, is_identically_zero
from pyro.util import enable_validation, is_validation_enabled

__all__ = [
    "MultiFrameTensor",
    "check_fully_reparametrized",
    "enable_validation",
    "get_plate_stacks",
    "is_identically_one",
    "is_identically_zero",
    "is_validation_enabled",
    "plate_frames",
    "plate_nesting",
    "site_is_subsample",
    "torch_backward",
    "torch_exp",
    "torch_item",
    "zero_grads",
]


def torch_item(x: Any) -> Any:
    """``x.item()`` for a tensor, ``x`` itself for a Python number."""
    return x.item() if isinstance(x, torch.Tensor) else x


def torch_exp(x: Any) -> Any:
    """``exp`` for tensors and Python numbers alike."""
    return x.exp() if isinstance(x, torch.Tensor) else math.exp(x)


def torch_backward(x: Any, retain_graph: Optional[bool] = None) -> None:
    """``x.backward()`` when ``x`` is a tensor that requires grad; nothing otherwise (a
    loss with no parameters in it)."""
    if isinstance(x, torch.Tensor) and x.requires_grad:
        x.backward(retain_graph=retain_graph)


def zero_grads(tensors: Iterable[torch.Tensor]) -> None:
    """Reset the ``.grad`` of each tensor (to ``None``: the next backward allocates it)."""
    for p in tensors:
        p.grad = None








def plate_frames(site: Dict[str, Any]) -> FrozenSet[Any]:
    """The vectorized plate frames enclosing ``site`` (its "ordinal")."""
    return frozenset(f for f in site["cond_indep_stack"] if f.vectorized)


def get_plate_stacks(trace) -> Dict[str, FrozenSet[Any]]:
    """Map each sample site name of ``trace`` to the frozenset of vectorized plate frames
    that enclose it."""
    return {
        name: plate_frames(site)
        for name, site in trace.nodes.items()
        if site["type"] == "sample"
    }


def plate_nesting(*traces) -> int:
    """The deepest vectorized plate dim used by a sample site of ``traces`` (0 if none):
    the ``max_plate_nesting`` those traces need."""
    nesting = 0
    for trace in traces:
        for site in trace.nodes.values():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            for frame in site["cond_indep_stack"]:
                if frame.vectorized:
                    nesting = max(nesting, -frame.dim)
    return nesting


def check_fully_reparametrized(guide_site: Dict[str, Any]) -> None:
    """Raise a ``ValueError`` naming the site when a guide site cannot be
    reparameterized (for losses that need ``rsample``)."""
    fn = guide_site["fn"]
    if not getattr(fn, "has_rsample", False):
        raise ValueError(
            f"guide site {guide_site['name']!r} ({type(fn).__name__}) is not "
            f"reparameterizable: this loss needs rsample; use Trace_ELBO or TraceGraph_ELBO "
            f"(score-function gradients) or a reparameterizable distribution"
        )


class MultiFrameTensor(dict):
    """A dict ``frozenset(frames) -> tensor`` of log-density terms, each living in the
    plates of its frames, that can be summed down to any set of plates.

    ``sum_to(target_frames)`` adds every term after summing out the plate dims that are
    not in ``target_frames`` (keeping the others, so the result broadcasts against a
    site in those plates). This is the Rao-Blackwellization over plates that the
    score-function terms of the ELBOs use: a site inside plate ``i`` sees the costs of
    the global sites and of its own slice of ``i``, not of the other slices.

    Example::

        log_r = MultiFrameTensor((frames_of(site), site["log_prob"]) for site in sites)
        cost = log_r.sum_to(frames_of(guide_site))
    """

    def __init__(self, *items) -> None:
        super().__init__()
        for frames, value in items:
            self.add((frames, value))

    def add(self, *items) -> None:
        """Add ``(frames, value)`` pairs, summing values that share their frames."""
        for frames, value in items:
            frames = frozenset(frames)
            if frames in self:
                self[frames] = self[frames] + value
            else:
                self[frames] = value

    def sum_to(self, target_frames) -> Any:
        """The sum of all terms, each reduced to the plates in ``target_frames``."""
        target = frozenset(f for f in target_frames if f.vectorized)
        total = None
        for frames, value in self.items():
            if isinstance(value, torch.Tensor) and value.dim():
                extra = frames - target
                if extra:
                    dims = tuple(f.dim for f in extra if -f.dim <= value.dim())
                    if dims:
                        value = value.sum(dims, keepdim=True)
                # Leave only the dims of the target plates (and enumeration dims).
                while value.dim() and value.shape[0] == 1:
                    value = value.squeeze(0)
            total = value if total is None else total + value
        return 0.0 if total is None else total
