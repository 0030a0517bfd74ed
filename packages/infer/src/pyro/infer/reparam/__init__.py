"""Reparameterizers for ``poutine.reparam``: they change the coordinates of sample sites
(decentering, transforms, auxiliary variables) to improve the posterior's geometry or to
make sites with intractable densities (``Stable``, ``ProjectedNormal``, ``LinearHMM``)
usable by variational inference and MCMC; and strategies that choose them automatically
(:class:`MinimalReparam`, :class:`AutoReparam`)."""
from .conjugate import ConjugateReparam
from .discrete_cosine import DiscreteCosineReparam
from .haar import HaarReparam
from .hmm import LinearHMMReparam
from .loc_scale import LocScaleReparam
from .neutra import NeuTraReparam
from .projected_normal import ProjectedNormalReparam
from .softmax import GumbelSoftmaxReparam
from .split import SplitReparam
from .stable import LatentStableReparam, StableReparam, SymmetricStableReparam
from .strategies import AutoReparam, MinimalReparam, Strategy
from .structured import StructuredReparam
from .studentt import StudentTReparam
from .transform import TransformReparam
from .unit_jacobian import UnitJacobianReparam

__all__ = [
    "AutoReparam",
    "ConjugateReparam",
    "DiscreteCosineReparam",
    "GumbelSoftmaxReparam",
    "HaarReparam",
    "LatentStableReparam",
    "LinearHMMReparam",
    "LocScaleReparam",
    "MinimalReparam",
    "NeuTraReparam",
    "ProjectedNormalReparam",
    "SplitReparam",
    "StableReparam",
    "Strategy",
    "StructuredReparam",
    "StudentTReparam",
    "SymmetricStableReparam",
    "TransformReparam",
    "UnitJacobianReparam",
]
