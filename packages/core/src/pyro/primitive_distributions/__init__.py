"""The distributions the core language needs itself (re-exported by ``pyro.distributions``):
:class:`Delta` (``pyro.deterministic``), :class:`Unit` (``pyro.factor``) and
:class:`TorchDistributionMixin` (Pyro's extras on any torch distribution)."""
from .delta import Delta
from .torch_distribution import (
    ExpandedDistribution,
    Independent,
    MaskedDistribution,
    ScoreParts,
    TorchDistribution,
    TorchDistributionMixin,
    score_parts_of,
)
from .unit import Unit
from .util import (
    broadcast_shape,
    is_identically_one,
    is_identically_zero,
    scale_and_mask,
    sum_rightmost,
)

__all__ = [
    "Delta",
    "ExpandedDistribution",
    "Independent",
    "MaskedDistribution",
    "ScoreParts",
    "TorchDistribution",
    "TorchDistributionMixin",
    "Unit",
    "broadcast_shape",
    "is_identically_one",
    "is_identically_zero",
    "scale_and_mask",
    "score_parts_of",
    "sum_rightmost",
]
