"""``poutine.broadcast``: expand distributions to the shapes of their plates."""
from __future__ import annotations

import torch

from ..primitive_distributions.util import broadcasts_to
from .messenger import Messenger
from .util import site_is_subsample


def broadcast_to_plates(msg) -> None:
    """Expand ``msg["fn"]`` so its batch shape has each enclosing vectorized plate's size
    at the plate's dim. A batch dim that is neither 1 nor the plate size is an error."""
    fn = msg["fn"]
    batch_shape = getattr(fn, "batch_shape", None)
    if batch_shape is None or site_is_subsample(msg):
        # A nested plate's subsample site holds its own indices: never expanded.
        return
    target = None
    for frame in msg["cond_indep_stack"]:
        dim = frame.dim
        if dim is None or frame.size == -1:
            continue
        shape = target if target is not None else list(batch_shape)
        if len(shape) < -dim:
            shape[:0] = [1] * (-dim - len(shape))
        size = shape[dim]
        if size == frame.size:
            continue
        if size != 1:
            raise ValueError(
                f"Shape mismatch inside plate({frame.name!r}) at site {msg['name']!r}: the plate "
                f"has size {frame.size} at dim {dim}, but the distribution's batch_shape is "
                f"{tuple(batch_shape)} (size {size} at dim {dim}). Make the distribution's "
                f"parameters broadcast to the plate (size 1 or {frame.size} at dim {dim}), "
                f"declare data dims with .to_event(), or give the plate another dim="
            )
        shape[dim] = frame.size
        target = shape
    if target is not None:
        msg["fn"] = fn.expand(torch.Size(target))


def check_obs_shape(msg) -> None:
    """Raise if an observed value does not broadcast to the site's distribution shape
    (a classic bug: data of shape (N, 1) against a batch_shape (N,) broadcast to (N, N))."""
    value = msg["value"]
    if not msg["is_observed"] or not isinstance(value, torch.Tensor):
        return
    fn = msg["fn"]
    expected = fn.batch_shape + fn.event_shape
    if not broadcasts_to(value.shape, expected):
        raise ValueError(
            f"Observed value of shape {tuple(value.shape)} at site {msg['name']!r} does not fit "
            f"the distribution's batch_shape {tuple(fn.batch_shape)} + event_shape "
            f"{tuple(fn.event_shape)}: it must broadcast to {tuple(expected)}. Reshape the data "
            f"(e.g. drop a trailing singleton dim) or enclose the site in a plate of its size"
        )


class BroadcastMessenger(Messenger):
    """Expand the distribution at each sample site to the sizes of its enclosing plates
    (``pyro.plate`` already does this; use it with plates made by other handlers)."""

    def _pyro_sample(self, msg) -> None:
        if not msg["done"]:
            broadcast_to_plates(msg)
