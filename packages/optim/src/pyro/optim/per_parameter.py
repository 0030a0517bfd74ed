"""``PerParameterOptimizer``: the step loop of pyro.optim's own optimizers
(:class:`~pyro.optim.clipped_adam.ClippedAdam`, :class:`~pyro.optim.dct_adam.DCTAdam`,
:class:`~pyro.optim.adagrad_rmsprop.AdagradRMSProp`)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch.optim import Optimizer


class PerParameterOptimizer(Optimizer):
    """A torch optimizer that updates each parameter from its own gradient and state
    (:meth:`_step_param`), then, for a group with an ``lrd`` setting, decays the group's
    learning rate: ``lr <- lr * lrd``.

    Subclasses implement ``_step_param(group, p)``, called for each parameter ``p`` of
    ``group`` that has a gradient, under ``torch.no_grad``.
    """

    @staticmethod
    def pyro_groupable(settings: Mapping[str, Any]) -> bool:
        """Parameters may share one instance (PyroOptim's grouped mode), since no
        parameter's update reads another's, unless the learning rate decays: ``lrd != 1``
        is group-level state that would advance once per step of any member."""
        return float(settings.get("lrd", 1.0)) == 1.0

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step.

        :param closure: an optional closure that re-evaluates the model and returns the loss
            (evaluated with gradients enabled).
        :returns: the closure's loss, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._step_param(group, p)
            if group.get("lrd", 1.0) != 1.0:
                group["lr"] = group["lr"] * group["lrd"]
        return loss

    def _step_param(self, group: dict[str, Any], p: torch.Tensor) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _step_param(group, p)")
