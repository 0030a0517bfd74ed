"""``AdagradRMSProp``: the adaptive step-size sequence of ADVI."""
from __future__ import annotations

from typing import Any

import torch
from torch.optim.optimizer import ParamsT

from .per_parameter import PerParameterOptimizer


class AdagradRMSProp(PerParameterOptimizer):
    r"""A mash-up of Adagrad and RMSProp: the step-size sequence of ADVI (equations 10
    and 11 of [1]). At step :math:`k = 1, 2, \dots` with gradient :math:`g_k`:

    .. math::
        s_k = t\, g_k^2 + (1 - t)\, s_{k-1}, \quad s_1 = g_1^2, \qquad
        \theta \leftarrow \theta - \eta\, k^{-1/2 + \delta}\,
            \frac{g_k}{1 + \sqrt{s_k}}

    elementwise: an RMSProp-like running average of squared gradients [2] in an
    Adagrad-like [3] step size that decays as :math:`k^{-1/2 + \delta}`.

    **References**

    [1] A. Kucukelbir, D. Tran, R. Ranganath, A. Gelman, D. M. Blei (2017), "Automatic
        Differentiation Variational Inference", JMLR 18, https://arxiv.org/abs/1603.00788
    [2] T. Tieleman, G. Hinton (2012), "Lecture 6.5 RmsProp: Divide the gradient by a
        running average of its recent magnitude", COURSERA: Neural Networks for Machine
        Learning.
    [3] J. Duchi, E. Hazan, Y. Singer (2011), "Adaptive subgradient methods for online
        learning and stochastic optimization", JMLR 12.

    :param params: iterable of parameters to optimize or dicts defining parameter groups.
    :param float eta: the step size scale (default 1.0).
    :param float delta: modulates the exponent of the step-size decay (default 1e-16).
    :param float t: the weight of the newest squared gradient in the running average
        (momentum; default 0.1).
    :raises ValueError: for a negative ``eta``, ``delta`` outside [0, 0.5] or ``t``
        outside (0, 1].
    """

    def __init__(
        self,
        params: ParamsT,
        eta: float = 1.0,
        delta: float = 1.0e-16,
        t: float = 0.1,
    ) -> None:
        if not eta >= 0.0:
            raise ValueError(f"AdagradRMSProp: invalid eta={eta} (must be >= 0)")
        if not 0.0 <= delta <= 0.5:
            raise ValueError(f"AdagradRMSProp: invalid delta={delta} (must be in [0, 0.5])")
        if not 0.0 < t <= 1.0:
            raise ValueError(f"AdagradRMSProp: invalid t={t} (must be in (0, 1])")
        super().__init__(params, dict(eta=eta, delta=delta, t=t))

    def share_memory(self) -> None:
        """Move the running averages to shared memory (for Hogwild-style training)."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "sum" in state:
                    state["sum"].share_memory_()

    def _step_param(self, group: dict[str, Any], p: torch.Tensor) -> None:
        grad = p.grad
        if grad is None:
            return
        if grad.is_sparse:
            raise RuntimeError(f"AdagradRMSProp does not support sparse gradients "
                               f"(parameter of shape {tuple(p.shape)})")
        eta, delta, t = group["eta"], group["delta"], group["t"]
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["sum"] = grad * grad
        else:
            state["sum"].mul_(1.0 - t).addcmul_(grad, grad, value=t)
        state["step"] += 1
        step_size = eta * state["step"] ** (-0.5 + delta)
        p.addcdiv_(grad, state["sum"].sqrt().add_(1.0), value=-step_size)
