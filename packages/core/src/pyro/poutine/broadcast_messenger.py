"""``poutine.broadcast``: expand distributions to the shapes of their plates."""
from __future__ import annotations

import torch

from ..primitive_distributions.util import shapes_broadcast
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
    """Raise if an observed value cannot broadcast with the site's distribution shape.

    Pyro's rule (torch's ``validate_args``), no stricter: each dim of the value and of
    ``batch_shape + event_shape`` must agree or one of them be 1, so data of shape
    ``(N, 1)`` against a batch shape ``(N,)`` is accepted (its log density then has shape
    ``(N, N)``, as in Pyro).

    :raises ValueError: naming the site and the shapes.
    """
    value = msg["value"]
    if not msg["is_observed"] or not isinstance(value, torch.Tensor):
        return
    fn = msg["fn"]
    if not (hasattr(fn, "batch_shape") and hasattr(fn, "event_shape")):
        # A user's distribution subclassing the abstract pyro.distributions.Distribution
        # (e.g. the RSA tutorials' HashingMarginal) declares no shapes to check against.
        return
    expected = fn.batch_shape + fn.event_shape
    shape = value.shape
    if shape == expected:
        return
    # (an enumerated site's data meets a batch shape with the enumeration dim each step)
    if not shapes_broadcast(shape, expected):
        raise ValueError(
            f"Observed value of shape {tuple(shape)} at site {msg['name']!r} does not "
            f"broadcast with the distribution's batch_shape {tuple(fn.batch_shape)} + "
            f"event_shape {tuple(fn.event_shape)} = {tuple(expected)}: each dim must "
            f"agree or be 1. Reshape the data or enclose the site in a plate of its size"
        )


class BroadcastMessenger(Messenger):
    """Expand the distribution at each sample site to the sizes of its enclosing plates
    (``pyro.plate`` already does this; use it with plates made by other handlers)."""

    def _pyro_sample(self, msg) -> None:
        if not msg["done"]:
            broadcast_to_plates(msg)
