"""A cheaper LogNormal construction and density, mixed into the generated ``LogNormal``.

torch builds ``LogNormal(loc, scale)`` on a ``Normal`` whose constructor checks the
parameters with torch's full tensor check, and its ``log_prob`` (``TransformedDistribution``)
checks the value, then the base ``Normal`` checks the log of it again. Here:

* the base ``torch.distributions.Normal`` is made with the same attributes
  (``broadcast_all`` of the parameters, the same batch shape and ``_validate_args``
  state) and its parameters are checked once by the Normal's own cheap check
  (:func:`~pyro.distributions.fast_normal.loc_scale_shown_valid`: the constraints of
  ``LogNormal`` and ``Normal`` are the same, ``loc`` real, ``scale`` positive); when that
  check does not pass, torch's constructor runs, with its error;
* ``log_prob`` computes what ``TransformedDistribution.log_prob`` computes, with the same
  operations in the same order (``0 - log(y)`` plus the base density at ``log(y)``), so
  the same bits; the base density's own value check is skipped after this one passed:
  the log of a positive value is never NaN, so it cannot fail.

The class stays a subclass of ``torch.distributions.LogNormal`` (torch's KL registrations,
``expand``, ``rsample``, ``cdf`` ... apply unchanged).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.distributions import Distribution, Normal, TransformedDistribution
from torch.distributions import LogNormal as _TorchLogNormal
from torch.distributions.transforms import ExpTransform
from torch.distributions.utils import broadcast_all

from pyro.primitive_distributions.util import log_prob_unchecked, scalar_operand

from .fast_normal import loc_scale_shown_valid

__all__ = ["FastLogNormal"]

_NUMBER = (int, float, bool)  # what torch's Normal treats as a number (batch_shape ())


def _set_validate_args(dist: Distribution, validate_args: bool | None) -> None:
    # what Distribution.__init__ leaves: an instance flag only when one was given
    if validate_args is None:
        dist.__dict__.pop("_validate_args", None)
    else:
        dist._validate_args = validate_args


if TYPE_CHECKING:
    _Base = _TorchLogNormal
else:
    _Base = object  # a mixin: the generated class puts torch's LogNormal after it


class FastLogNormal(_Base):
    def __init__(self, loc, scale, validate_args=None):
        numbers = isinstance(loc, _NUMBER) and isinstance(scale, _NUMBER)
        base_loc, base_scale = broadcast_all(loc, scale)
        base = Normal.__new__(Normal)
        base.loc, base.scale = base_loc, base_scale
        Distribution.__init__(base, torch.Size() if numbers else base_loc.size(),
                              validate_args=False)
        _set_validate_args(base, validate_args)
        if base._validate_args and not loc_scale_shown_valid(base_loc, base_scale):
            # torch's construction: its check raises its error
            _TorchLogNormal.__init__(self, loc, scale, validate_args=validate_args)
            return
        TransformedDistribution.__init__(self, base, ExpTransform(), validate_args=False)
        _set_validate_args(self, validate_args)

    def log_prob(self, value):
        transforms = self.transforms
        base = self.base_dist
        if not (len(transforms) == 1 and type(transforms[0]) is ExpTransform
                and type(base) is Normal):
            return TransformedDistribution.log_prob(self, value)
        checked = bool(self._validate_args)
        if checked:
            self._validate_sample(value)
        x = transforms[0].inv(value)
        # TransformedDistribution.log_prob: 0.0 - log|dy/dx| (= x for exp), then the base
        # density at x, each summed over no dims
        zero = scalar_operand(0.0, x)  # a cached 0-dim tensor where it gives the same bits
        log_prob = torch.sub(zero, x) if type(zero) is torch.Tensor else 0.0 - x
        base_lp = log_prob_unchecked(base, x) if checked else base.log_prob(x)
        return log_prob + base_lp
