"""Pyro's distribution library: every :mod:`torch.distributions` family with Pyro's methods
(``to_event``, ``mask``, ``expand``, ``score_parts``, ...), Pyro's own families, constraints,
transforms and KL divergences.

Importing this package registers Pyro's constraints with torch's ``biject_to`` /
``transform_to`` and Pyro's KL pairs with torch's ``kl_divergence``. Names that plugins
register (``pyro_register_distributions``) are found through the module ``__getattr__``.
"""
import pyro.plugins

from . import constraint_registry, constraints, kl, transforms  # noqa: F401 (registrations)
from . import torch as _torch_families
from .affine_beta import AffineBeta
from .asymmetriclaplace import AsymmetricLaplace, SoftAsymmetricLaplace
from .avf_mvn import AVFMultivariateNormal
from .coalescent import (
    CoalescentRateLikelihood,
    CoalescentTimes,
    CoalescentTimesWithRate,
)
from .conditional import (
    ConditionalDistribution,
    ConditionalTransform,
    ConditionalTransformedDistribution,
    ConditionalTransformModule,
)
from .conjugate import BetaBinomial, DirichletMultinomial, GammaPoisson
from .constraint_registry import biject_to, transform_to
from .delta import Delta
from .diag_normal_mixture import MixtureOfDiagNormals
from .diag_normal_mixture_shared_cov import MixtureOfDiagNormalsSharedCovariance
from .distribution import Distribution
from .empirical import Empirical
from .extended import ExtendedBetaBinomial, ExtendedBinomial
from .folded import FoldedDistribution
from .gaussian_scale_mixture import GaussianScaleMixture
from .grouped_normal_normal import GroupedNormalNormal
from .hmm import (
    DiscreteHMM,
    GammaGaussianHMM,
    GaussianHMM,
    GaussianMRF,
    IndependentHMM,
    LinearHMM,
)
from .improper_uniform import ImproperUniform
from .kl import kl_divergence, register_kl
from .lkj import LKJ, LKJCorrCholesky
from .log_normal_negative_binomial import LogNormalNegativeBinomial
from .logistic import Logistic, SkewLogistic
from .mixture import MaskedMixture
from .multivariate_studentt import MultivariateStudentT
from .nanmasked import NanMaskedMultivariateNormal, NanMaskedNormal
from .omt_mvn import OMTMultivariateNormal
from .one_one_matching import OneOneMatching
from .one_two_matching import OneTwoMatching
from .ordered_logistic import OrderedLogistic
from .polya_gamma import TruncatedPolyaGamma
from .projected_normal import ProjectedNormal
from .rejector import Rejector
from .relaxed_straight_through import (
    RelaxedBernoulliStraightThrough,
    RelaxedOneHotCategoricalStraightThrough,
)
from .sine_bivariate_von_mises import SineBivariateVonMises
from .sine_skewed import SineSkewed
from .softlaplace import SoftLaplace
from .spanning_tree import SpanningTree
from .stable import Stable, StableWithLogProb
from .torch import *  # noqa: F401,F403 (every torch family, generated)
from .torch_distribution import (
    ExpandedDistribution,
    MaskedDistribution,
    TorchDistribution,
    TorchDistributionMixin,
)
from .torch_transform import ComposeTransformModule, TransformModule
from .unit import Unit
from .util import enable_validation, is_validation_enabled, validation_enabled
from .von_mises_3d import VonMises3D
from .zero_inflated import (
    ZeroInflatedDistribution,
    ZeroInflatedNegativeBinomial,
    ZeroInflatedPoisson,
)

__all__ = [
    "AVFMultivariateNormal",
    "AffineBeta",
    "AsymmetricLaplace",
    "BetaBinomial",
    "CoalescentRateLikelihood",
    "CoalescentTimes",
    "CoalescentTimesWithRate",
    "ComposeTransformModule",
    "ConditionalDistribution",
    "ConditionalTransform",
    "ConditionalTransformModule",
    "ConditionalTransformedDistribution",
    "Delta",
    "DirichletMultinomial",
    "DiscreteHMM",
    "Distribution",
    "Empirical",
    "ExpandedDistribution",
    "ExtendedBetaBinomial",
    "ExtendedBinomial",
    "FoldedDistribution",
    "GammaGaussianHMM",
    "GammaPoisson",
    "GaussianHMM",
    "GaussianMRF",
    "GaussianScaleMixture",
    "GroupedNormalNormal",
    "ImproperUniform",
    "IndependentHMM",
    "LKJ",
    "LKJCorrCholesky",
    "LinearHMM",
    "LogNormalNegativeBinomial",
    "Logistic",
    "MaskedDistribution",
    "MaskedMixture",
    "MixtureOfDiagNormals",
    "MixtureOfDiagNormalsSharedCovariance",
    "MultivariateStudentT",
    "NanMaskedMultivariateNormal",
    "NanMaskedNormal",
    "OMTMultivariateNormal",
    "OneOneMatching",
    "OneTwoMatching",
    "OrderedLogistic",
    "ProjectedNormal",
    "Rejector",
    "RelaxedBernoulliStraightThrough",
    "RelaxedOneHotCategoricalStraightThrough",
    "SineBivariateVonMises",
    "SineSkewed",
    "SkewLogistic",
    "SoftAsymmetricLaplace",
    "SoftLaplace",
    "SpanningTree",
    "Stable",
    "StableWithLogProb",
    "TorchDistribution",
    "TorchDistributionMixin",
    "TransformModule",
    "TruncatedPolyaGamma",
    "Unit",
    "VonMises3D",
    "ZeroInflatedDistribution",
    "ZeroInflatedNegativeBinomial",
    "ZeroInflatedPoisson",
    "biject_to",
    "constraints",
    "enable_validation",
    "is_validation_enabled",
    "kl",
    "kl_divergence",
    "register_kl",
    "transform_to",
    "transforms",
    "validation_enabled",
]
# every torch family (generated in .torch), e.g. Normal, Bernoulli, MultivariateNormal
__all__ += _torch_families.__all__

__getattr__ = pyro.plugins.namespace_getattr(__name__, "distributions")
