"""DCT-II reparameterization of smooth sequences."""
from __future__ import annotations

from pyro.distributions.transforms import DiscreteCosineTransform

from .unit_jacobian import UnitJacobianReparam


class DiscreteCosineReparam(UnitJacobianReparam):
    """Reparameterizes a site by its orthonormal discrete cosine transform [1] along
    ``dim``, as the site ``"{name}_dct"`` (see :class:`UnitJacobianReparam`). Smooth
    time series (e.g. Gaussian random walks) become nearly independent frequency
    coefficients, which mean-field guides and HMC handle much better.

    :param int dim: the (negative) event dim to transform.
    :param float smooth: frequency-dependent scaling of the coefficients (0 = the plain
        DCT; positive values favour smooth, negative rough functions), as
        ``DiscreteCosineTransform(smooth=...)``.
    :param bool experimental_allow_batch: see :class:`UnitJacobianReparam`.

    **References**

    [1] N. Ahmed, T. Natarajan, K. R. Rao (1974), "Discrete Cosine Transform", IEEE Trans.
        Computers C-23(1).
    """

    def __init__(self, dim: int = -1, smooth: float = 0.0, *,
                 experimental_allow_batch: bool = False) -> None:
        super().__init__(DiscreteCosineTransform(dim=dim, smooth=smooth), "dct",
                         experimental_allow_batch=experimental_allow_batch)
