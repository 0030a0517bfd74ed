"""An exponential distribution sampled by rejection (to test rejection gradients)."""
from __future__ import annotations

import torch
from torch.distributions.utils import broadcast_all

from ..rejector import Rejector
from ..torch import Exponential

__all__ = ["RejectionExponential"]


class RejectionExponential(Rejector):
    r""":math:`\mathrm{Exponential}(\lambda)` sampled by rejection from the heavier-tailed
    proposal :math:`\mathrm{Exponential}(f\lambda)` with ``factor`` :math:`f \in (0, 1]`.

    The acceptance probability is :math:`a(x) = e^{-(1 - f)\lambda x}` and the total
    acceptance probability :math:`Z = f`, so ``log_prob`` is exactly the exponential's.

    :param rate: :math:`\lambda > 0`.
    :param factor: :math:`f \in (0, 1]`.
    """

    arg_constraints = {"rate": Exponential.arg_constraints["rate"]}

    def __init__(self, rate, factor) -> None:
        rate, factor = broadcast_all(rate, factor)
        self.rate = rate
        self.factor = factor
        propose = Exponential(self.factor * self.rate)
        super().__init__(propose, self._log_prob_accept, self.factor.log())

    def _log_prob_accept(self, x: torch.Tensor) -> torch.Tensor:
        return -(1 - self.factor) * self.rate * x
