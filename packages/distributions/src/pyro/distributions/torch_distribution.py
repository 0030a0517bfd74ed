"""Pyro's base classes for distributions (defined in core, re-exported here at Pyro's path)."""
from pyro.primitive_distributions.torch_distribution import (
    ExpandedDistribution,
    Independent,
    MaskedDistribution,
    ScoreParts,
    TorchDistribution,
    TorchDistributionMixin,
    score_parts_of,
)

__all__ = [
    "ExpandedDistribution",
    "Independent",
    "MaskedDistribution",
    "ScoreParts",
    "TorchDistribution",
    "TorchDistributionMixin",
    "score_parts_of",
]
