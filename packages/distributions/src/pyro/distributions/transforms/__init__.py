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
from .affine_autoregressive import AffineAutoregressive, affine_autoregressive
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
from .sylvester import Sylvester, sylvester
from .unit_cholesky import UnitLowerCholeskyTransform
from .utils import iterated

__all__ = [
    "AbsTransform",
    "AffineAutoregressive",
    "AffineTransform",
    "CatTransform",
    "CholeskyTransform",
    "ComposeTransform",
    "ComposeTransformModule",
    "ConditionalHouseholder",
    "ConditionalMatrixExponential",
    "ConditionalPlanar",
    "ConditionalRadial",
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
    "StackTransform",
    "StickBreakingTransform",
    "Sylvester",
    "TanhTransform",
    "Transform",
    "TransformModule",
    "UnitLowerCholeskyTransform",
    "affine_autoregressive",
    "conditional_householder",
    "conditional_matrix_exponential",
    "conditional_planar",
    "conditional_radial",
    "elu",
    "householder",
    "identity_transform",
    "iterated",
    "leaky_relu",
    "matrix_exponential",
    "permute",
    "planar",
    "radial",
    "sylvester",
]
