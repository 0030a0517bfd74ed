"""The odd power map :math:`y = \\mathrm{sign}(x) |x|^p`, a bijection of the whole real line."""
from __future__ import annotations

import torch
from torch.distributions.transforms import PowerTransform

from .. import constraints

__all__ = ["PositivePowerTransform"]


class PositivePowerTransform(PowerTransform):
    r"""Like :class:`~torch.distributions.transforms.PowerTransform` but extended to negative
    inputs by odd symmetry, :math:`y = \mathrm{sign}(x) |x|^p`, so that it is a bijection of
    the reals (and of the positive reals) for any exponent :math:`p > 0`.

    :param exponent: :math:`p`, a positive float or tensor broadcastable with ``x``.

    Elementwise: ``log_abs_det_jacobian`` has the broadcast shape of ``x`` and ``exponent``,
    :math:`\log p + (p - 1) \log |x|`.
    """

    # torch's PowerTransform maps the positive reals; this one the whole line
    domain = constraints.real  # type: ignore[assignment]
    codomain = constraints.real  # type: ignore[assignment]

    def __init__(self, exponent, *, cache_size: int = 0, validate_args=None) -> None:
        if not isinstance(exponent, torch.Tensor):
            exponent = torch.tensor(float(exponent))
        if validate_args and not bool((exponent > 0).all()):
            raise ValueError(f"PositivePowerTransform needs a positive exponent; got {exponent}")
        super().__init__(exponent, cache_size=cache_size)

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return PositivePowerTransform(self.exponent, cache_size=cache_size)

    def _call(self, x):
        return x.sign() * x.abs().pow(self.exponent)

    def _inverse(self, y):
        return y.sign() * y.abs().pow(self.exponent.reciprocal())

    def log_abs_det_jacobian(self, x, y):
        p = self.exponent
        return (p.log() + (p - 1) * x.abs().log()).expand(torch.broadcast_shapes(x.shape, p.shape))
