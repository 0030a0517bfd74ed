"""Haar wavelet reparameterization of sequences."""
from __future__ import annotations

from pyro.distributions.transforms import HaarTransform

from .unit_jacobian import UnitJacobianReparam


class HaarReparam(UnitJacobianReparam):
    """Reparameterizes a site by its orthonormal Haar wavelet transform [1] along ``dim``,
    as the site ``"{name}_haar"`` (see :class:`UnitJacobianReparam`): useful for time
    series with structure at several scales.

    :param int dim: the (negative) event dim to transform.
    :param bool flip: transform the reversed sequence (``HaarTransform(flip=True)``), so
        the coarse coefficients describe the end of the series.
    :param bool experimental_allow_batch: see :class:`UnitJacobianReparam`.

    **References**

    [1] A. Haar (1910), "Zur Theorie der orthogonalen Funktionensysteme", Math. Annalen 69.
    """

    def __init__(self, dim: int = -1, flip: bool = False, *,
                 experimental_allow_batch: bool = False) -> None:
        super().__init__(HaarTransform(dim=dim, flip=flip), "haar",
                         experimental_allow_batch=experimental_allow_batch)
