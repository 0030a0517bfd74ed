"""Transforms: every transform of :mod:`torch.distributions.transforms` plus Pyro's.

Pyro's additions: :class:`OrderedTransform`, :class:`CorrLCholeskyTransform`,
:class:`CorrMatrixCholeskyTransform`, :class:`SoftplusLowerCholeskyTransform`,
:class:`UnitLowerCholeskyTransform`, :class:`LowerCholeskyAffine`, :class:`Normalize`,
:class:`Permute`, the learnable :class:`AffineAutoregressive` flow, the module bases
:class:`TransformModule` / :class:`ComposeTransformModule`, and the helpers
:func:`permute`, :func:`iterated`, :func:`affine_autoregressive`.
"""
from torch.distributions.transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)

from ..torch_transform import ComposeTransformModule, TransformModule
from .affine_autoregressive import (
    AffineAutoregressive,
    ConditionalAffineAutoregressive,
    affine_autoregressive,
    conditional_affine_autoregressive,
)
from .affine_coupling import (
    AffineCoupling,
    ConditionalAffineCoupling,
    affine_coupling,
    conditional_affine_coupling,
)
from .basic import ELUTransform, LeakyReLUTransform, elu, leaky_relu
from .cholesky import CholeskyTransform, CorrLCholeskyTransform, CorrMatrixCholeskyTransform
from .discrete_cosine import DiscreteCosineTransform
from .haar import HaarTransform
from .householder import (
    ConditionalHouseholder,
    Householder,
    conditional_householder,
    householder,
)
from .lower_cholesky_affine import LowerCholeskyAffine
from .matrix_exponential import (
    ConditionalMatrixExponential,
    MatrixExponential,
    conditional_matrix_exponential,
    matrix_exponential,
)
from .normalize import Normalize
from .ordered import OrderedTransform
from .permute import Permute, permute
from .planar import ConditionalPlanar, Planar, conditional_planar, planar
from .power import PositivePowerTransform
from .radial import ConditionalRadial, Radial, conditional_radial, radial
from .simplex_to_ordered import SimplexToOrderedTransform
from .softplus import SoftplusLowerCholeskyTransform
from .spline import ConditionalSpline, Spline, conditional_spline, spline
from .spline_autoregressive import (
    ConditionalSplineAutoregressive,
    SplineAutoregressive,
    conditional_spline_autoregressive,
    spline_autoregressive,
)
from .spline_coupling import SplineCoupling, spline_coupling
from .sylvester import Sylvester, sylvester
from .unit_cholesky import UnitLowerCholeskyTransform
from .utils import iterated

__all__ = [
    "AbsTransform",
    "AffineAutoregressive",
    "AffineCoupling",
    "AffineTransform",
    "CatTransform",
    "CholeskyTransform",
    "ComposeTransform",
    "ComposeTransformModule",
    "ConditionalAffineAutoregressive",
    "ConditionalAffineCoupling",
    "ConditionalHouseholder",
    "ConditionalMatrixExponential",
    "ConditionalPlanar",
    "ConditionalRadial",
    "ConditionalSpline",
    "ConditionalSplineAutoregressive",
    "CorrCholeskyTransform",
    "CorrLCholeskyTransform",
    "CorrMatrixCholeskyTransform",
    "CumulativeDistributionTransform",
    "DiscreteCosineTransform",
    "ELUTransform",
    "ExpTransform",
    "HaarTransform",
    "Householder",
    "IndependentTransform",
    "LeakyReLUTransform",
    "LowerCholeskyAffine",
    "LowerCholeskyTransform",
    "MatrixExponential",
    "Normalize",
    "OrderedTransform",
    "Permute",
    "Planar",
    "PositiveDefiniteTransform",
    "PositivePowerTransform",
    "PowerTransform",
    "Radial",
    "ReshapeTransform",
    "SigmoidTransform",
    "SimplexToOrderedTransform",
    "SoftmaxTransform",
    "SoftplusLowerCholeskyTransform",
    "SoftplusTransform",
    "Spline",
    "SplineAutoregressive",
    "SplineCoupling",
    "StackTransform",
    "StickBreakingTransform",
    "Sylvester",
    "TanhTransform",
    "Transform",
    "TransformModule",
    "UnitLowerCholeskyTransform",
    "affine_autoregressive",
    "affine_coupling",
    "conditional_affine_autoregressive",
    "conditional_affine_coupling",
    "conditional_householder",
    "conditional_matrix_exponential",
    "conditional_planar",
    "conditional_radial",
    "conditional_spline",
    "conditional_spline_autoregressive",
    "elu",
    "householder",
    "identity_transform",
    "iterated",
    "leaky_relu",
    "matrix_exponential",
    "permute",
    "planar",
    "radial",
    "spline",
    "spline_autoregressive",
    "spline_coupling",
    "sylvester",
]
