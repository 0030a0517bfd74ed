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
from .cholesky import (
    CorrLCholeskyTransform,
    CorrMatrixCholeskyTransform,
    LowerCholeskyAffine,
    SoftplusLowerCholeskyTransform,
    UnitLowerCholeskyTransform,
)
from .normalize import Normalize
from .ordered import OrderedTransform
from .permute import Permute, permute
from .utils import iterated

__all__ = [
    "AbsTransform",
    "AffineAutoregressive",
    "AffineTransform",
    "CatTransform",
    "ComposeTransform",
    "ComposeTransformModule",
    "CorrCholeskyTransform",
    "CorrLCholeskyTransform",
    "CorrMatrixCholeskyTransform",
    "CumulativeDistributionTransform",
    "ExpTransform",
    "IndependentTransform",
    "LowerCholeskyAffine",
    "LowerCholeskyTransform",
    "Normalize",
    "OrderedTransform",
    "Permute",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftmaxTransform",
    "SoftplusLowerCholeskyTransform",
    "SoftplusTransform",
    "StackTransform",
    "StickBreakingTransform",
    "TanhTransform",
    "Transform",
    "TransformModule",
    "UnitLowerCholeskyTransform",
    "affine_autoregressive",
    "identity_transform",
    "iterated",
    "permute",
]
