"""pyro-distributions' plugin: registers the distribution families of the package.

Loaded through the ``pyro`` entry-point group like any third-party plugin; the names it
registers are also ordinary attributes of :mod:`pyro.distributions`. Abstract bases
(``TorchDistribution``, ``Distribution``, ``ExponentialFamily``), constraints,
transforms and helper functions are not registered.
"""
from __future__ import annotations

from pyro.plugins import Registry, hookimpl

#: Pyro's own families (the torch families come from :mod:`pyro.distributions.torch`).
PYRO_FAMILIES = (
    "AVFMultivariateNormal", "AffineBeta", "AsymmetricLaplace", "BetaBinomial",
    "CoalescentTimes", "CoalescentTimesWithRate", "Delta", "DirichletMultinomial",
    "DiscreteHMM", "Empirical", "ExpandedDistribution", "ExtendedBetaBinomial",
    "ExtendedBinomial", "FoldedDistribution", "GammaGaussianHMM", "GammaPoisson",
    "GaussianHMM", "GaussianMRF", "GaussianScaleMixture", "GroupedNormalNormal",
    "ImproperUniform", "IndependentHMM", "LKJ", "LKJCorrCholesky", "LinearHMM",
    "LogNormalNegativeBinomial", "Logistic", "MaskedDistribution", "MaskedMixture",
    "MixtureOfDiagNormals", "MixtureOfDiagNormalsSharedCovariance", "MultivariateStudentT",
    "NanMaskedMultivariateNormal", "NanMaskedNormal", "OMTMultivariateNormal",
    "OneOneMatching", "OneTwoMatching", "OrderedLogistic", "ProjectedNormal", "Rejector",
    "RelaxedBernoulliStraightThrough", "RelaxedOneHotCategoricalStraightThrough",
    "SineBivariateVonMises", "SineSkewed", "SkewLogistic", "SoftAsymmetricLaplace",
    "SoftLaplace", "SpanningTree", "Stable", "StableWithLogProb", "TruncatedPolyaGamma",
    "Unit", "VonMises3D", "ZeroInflatedDistribution", "ZeroInflatedNegativeBinomial",
    "ZeroInflatedPoisson",
)

#: Abstract bases among the torch wrappers: subclassed, never sampled from.
ABSTRACT_TORCH_BASES = ("ExponentialFamily",)


@hookimpl
def pyro_register_distributions(registry: Registry) -> None:
    import pyro.distributions as dist
    from pyro.distributions import torch as torch_families

    for name in PYRO_FAMILIES:
        registry.add(name, getattr(dist, name))
    # torch_families.__all__ is generated from this torch's own list of families.
    for name in torch_families.__all__:
        if name not in ABSTRACT_TORCH_BASES:
            registry.add(name, getattr(torch_families, name))
