"""A leaner Normal, mixed into the generated ``Normal`` wrapper.

The Normal is the family of most guides (``AutoNormal``, hand-written mean-field guides)
and of most priors, so its constructor and ``log_prob`` run several times per SVI step.
This computes the same quantities as ``torch.distributions.Normal`` with less work:

* construction skips ``broadcast_tensors`` when ``loc`` and ``scale`` are tensors of one
  shape already, checks Python-number parameters in Python, and validates tensor
  parameters cheaply: floating-point CPU tensors by two host reads (``min(scale) > 0``;
  ``sum(loc)`` not NaN, which holds when no entry is NaN; a one-element tensor is read
  as it is), other tensors by one fused test (``scale > 0`` and ``loc`` not NaN, one
  reduction, one host sync); only when that test does not pass does torch's own check
  run, which raises torch's error or accepts (so messages are unchanged);
* ``log_prob`` is ``-log(2 pi)/2 - (log(scale) + z**2 / 2)`` with ``z = (x - loc) / scale``:
  5 tensor ops (and 5 autograd nodes) instead of 9;
* ``rsample`` draws the same standard normals as torch (same generator consumption) and
  returns ``loc + eps * scale`` in one fused op.

Results agree with torch's to rounding (a few ulp). The class stays a subclass of
``torch.distributions.Normal``, so torch's KL registrations, ``expand``, ``sample``,
``cdf``, ``icdf`` and ``entropy`` apply unchanged.
"""
from __future__ import annotations

import math

import torch
from torch.distributions import Distribution, Normal
from torch.distributions.utils import _standard_normal, broadcast_all

from pyro.primitive_distributions.util import scalar_operand

from .fast_validation import host_reads_allowed

__all__ = ["FastNormal", "loc_scale_shown_valid"]

_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
_NUMBER = (int, float, bool)  # what torch's Normal treats as a number (batch_shape ())
_EMPTY = torch.Size()


def loc_scale_shown_valid(loc: torch.Tensor, scale: torch.Tensor) -> bool:
    """Whether ``scale > 0`` and ``loc == loc`` (not NaN) hold everywhere, shown cheaply;
    ``False`` means "not shown" (the caller runs torch's check).

    Floating-point CPU tensors are read on the host: ``min(scale) > 0`` holds iff every
    entry is positive (a NaN entry makes the minimum NaN, which fails), and ``sum(loc)``
    is NaN when an entry is NaN (a sum that is NaN otherwise, +inf meeting -inf, is only
    "not shown"). Other tensors, or a tracer, ``torch.func`` transform or dispatch mode
    that must not see host reads, get one fused tensor test with one sync.
    """
    if loc.is_cpu and scale.is_cpu and loc.is_floating_point() \
            and scale.is_floating_point() and host_reads_allowed():
        n, m = scale.numel(), loc.numel()
        if n and m:
            grad_enabled = torch.is_grad_enabled()
            torch._C._set_grad_enabled(False)  # (no graph for the two reductions)
            try:
                least = scale.item() if n == 1 else scale.min().item()
                total = loc.item() if m == 1 else loc.sum().item()
            finally:
                torch._C._set_grad_enabled(grad_enabled)
            return least > 0 and total == total
    # torch._is_all_true (as torch's check): it also works under torch.func.vmap
    return loc.device == scale.device and bool(torch._is_all_true(scale.gt(0) & loc.eq(loc)))


class FastNormal(Normal):
    def __init__(self, loc, scale, validate_args=None):
        checked = False
        if isinstance(loc, torch.Tensor) and isinstance(scale, torch.Tensor) \
                and loc.shape == scale.shape:
            # already of one shape: broadcast_tensors would only make views of them
            batch_shape = loc.shape
        elif type(loc) in (int, float) and type(scale) in (int, float):
            # the two numbers are checked here (NaN fails both comparisons)
            checked = scale > 0 and loc == loc
            # the 0-dim tensors of broadcast_all (torch.tensor(x, dtype=default)), made
            # by the lighter factory and not broadcast
            dtype = torch.get_default_dtype()
            loc = torch.scalar_tensor(loc, dtype=dtype)
            scale = torch.scalar_tensor(scale, dtype=dtype)
            batch_shape = torch.Size()
        else:
            numbers = isinstance(loc, _NUMBER) and isinstance(scale, _NUMBER)
            loc, scale = broadcast_all(loc, scale)
            batch_shape = torch.Size() if numbers else loc.shape
        self.loc, self.scale = loc, scale
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args and not checked and not loc_scale_shown_valid(loc, scale):
            # some value is invalid (or the devices differ, or the cheap test cannot tell):
            # torch's own check, which raises its usual error or accepts
            Distribution.__init__(self, batch_shape, validate_args=validate_args)
        self._batch_shape = batch_shape
        self._event_shape = _EMPTY

    def rsample(self, sample_shape=torch.Size()):
        loc = self.loc
        shape = self._batch_shape if not sample_shape else self._extended_shape(sample_shape)
        if torch._C._get_tracing_state() is None:
            # what _standard_normal does outside a tracer (the same draws)
            eps = torch.empty(shape, dtype=loc.dtype, device=loc.device).normal_()
        else:
            eps = _standard_normal(shape, dtype=loc.dtype, device=loc.device)
        return torch.addcmul(loc, eps, self.scale)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        half_sq = torch.addcmul(self.scale.log(), z, z, value=0.5)
        # -log(2 pi)/2 - half_sq, the constant as a cached 0-dim operand of half_sq's dtype
        # (no wrapped-number tensor per call; the same bits as torch.rsub with the number)
        return torch.sub(scalar_operand(-_HALF_LOG_TWO_PI, half_sq), half_sq)
