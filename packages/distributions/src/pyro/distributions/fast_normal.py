"""A leaner Normal, mixed into the generated ``Normal`` wrapper.

The Normal is the family of most guides (``AutoNormal``, hand-written mean-field guides)
and of most priors, so its constructor and ``log_prob`` run several times per SVI step.
This computes the same quantities as ``torch.distributions.Normal`` with less work:

* construction skips ``broadcast_tensors`` when ``loc`` and ``scale`` are tensors of one
  shape already, checks Python-number parameters in Python, and validates tensor
  parameters with one fused test (``scale > 0`` and ``loc`` not NaN, one reduction, one
  host sync); only when that test fails does torch's own check run, which raises
  torch's error (so messages are unchanged);
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

__all__ = ["FastNormal"]

_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
_NUMBER = (int, float, bool)  # what torch's Normal treats as a number (batch_shape ())


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
        if self._validate_args and not checked and (
                loc.device != scale.device
                # torch._is_all_true (as torch's check): it also works under torch.func.vmap
                or not torch._is_all_true(scale.gt(0) & loc.eq(loc))):
            # some value is invalid (or the devices differ): torch's own check, which
            # raises its usual error
            Distribution.__init__(self, batch_shape, validate_args=validate_args)
        self._batch_shape = batch_shape
        self._event_shape = torch.Size()

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return torch.addcmul(self.loc, eps, self.scale)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return torch.rsub(torch.addcmul(self.scale.log(), z, z, value=0.5), -_HALF_LOG_TWO_PI)
