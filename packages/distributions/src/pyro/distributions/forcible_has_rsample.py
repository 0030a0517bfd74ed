"""A ``has_rsample`` that ``has_rsample_`` can force on one instance, for the families
whose own ``has_rsample`` is computed from their parts (a read-only property otherwise)."""
from __future__ import annotations

from torch.distributions import Distribution

__all__ = ["ForcibleHasRsample"]


class ForcibleHasRsample:
    """Mixin (before the distribution class): ``has_rsample`` is the value forced by
    ``has_rsample_`` on this instance, else :meth:`_unforced_has_rsample` (the base
    distribution's by default). Used by torch's ``Gumbel``, ``Pareto``, ``Weibull``,
    ``TransformedDistribution`` (whose read-only property made ``has_rsample_`` raise
    ``AttributeError``, in Pyro 1.9 too) and by Pyro's composite families."""

    base_dist: Distribution

    def _unforced_has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    @property
    def has_rsample(self) -> bool:
        forced = self.__dict__.get("_forced_has_rsample")
        return self._unforced_has_rsample() if forced is None else forced

    @has_rsample.setter
    def has_rsample(self, value: bool) -> None:
        self.__dict__["_forced_has_rsample"] = value
