"""``ClippedAdam``: Adam with per-parameter gradient clipping and learning-rate decay."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch.optim.optimizer import ParamsT

from .per_parameter import PerParameterOptimizer


def check_adam_args(owner: str, lr: float, betas: tuple[float, float], eps: float,
                    clip_norm: float, lrd: float, weight_decay: float = 0.0) -> None:
    """Validate the hyperparameters shared by the clipped Adam optimizers.

    :raises ValueError: naming ``owner`` for a negative ``lr``/``eps``/``weight_decay``,
        betas that are not two values in [0, 1), or a non-positive ``clip_norm``/``lrd``.
    """
    if not lr >= 0.0:
        raise ValueError(f"{owner}: invalid learning rate lr={lr} (must be >= 0)")
    if not eps >= 0.0:
        raise ValueError(f"{owner}: invalid eps={eps} (must be >= 0)")
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"{owner}: invalid betas={betas} (two values in [0, 1))")
    if not weight_decay >= 0.0:
        raise ValueError(f"{owner}: invalid weight_decay={weight_decay} (must be >= 0)")
    if not clip_norm > 0.0:
        raise ValueError(f"{owner}: invalid clip_norm={clip_norm} (must be > 0)")
    if not lrd > 0.0:
        raise ValueError(f"{owner}: invalid lrd={lrd} (must be > 0)")


def clip_gradient(p: torch.Tensor, clip_norm: float, owner: str) -> torch.Tensor:
    """``p.grad`` rescaled to L2 norm at most ``clip_norm`` (a new tensor; ``inf`` keeps
    it as is).

    :raises RuntimeError: for a sparse gradient.
    """
    grad = p.grad
    if grad is None:
        raise ValueError(f"{owner}: a parameter of shape {tuple(p.shape)} has no gradient")
    if grad.is_sparse:
        raise RuntimeError(
            f"{owner} does not support sparse gradients (parameter of shape "
            f"{tuple(p.shape)}); use SparseAdam"
        )
    if math.isinf(clip_norm):
        return grad
    norm = torch.linalg.vector_norm(grad)
    return grad * (clip_norm / norm.clamp(min=clip_norm))


def adam_direction(
    state: dict, grad: torch.Tensor, group: Mapping[str, Any], mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Update Adam's moments in ``state`` with ``grad`` and return the bias-corrected
    direction ``m_hat / (sqrt(v_hat) + eps)`` (the step is ``lr`` times it).

    With a boolean ``mask`` (the elements present in a subsample) only those elements'
    moments and step counts change and the direction is zero elsewhere; the step count is
    then kept per element.
    """
    beta1, beta2 = group["betas"]
    if not state:
        state["step"] = 0 if mask is None else torch.zeros_like(grad)
        state["exp_avg"] = torch.zeros_like(grad, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(grad, memory_format=torch.preserve_format)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    if mask is None:
        state["step"] += 1
        t = state["step"]
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        dev = grad - exp_avg if group.get("centered_variance") else grad
        exp_avg_sq.mul_(beta2).addcmul_(dev, dev, value=1 - beta2)
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])
        return exp_avg / denom / bias_correction1
    if not torch.is_tensor(state["step"]):  # first subsampled step after full ones
        state["step"] = torch.full_like(grad, float(state["step"]))
    t = state["step"].add_(mask.to(grad.dtype))
    new_avg = exp_avg * beta1 + (1 - beta1) * grad
    dev = grad - new_avg if group.get("centered_variance") else grad
    new_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * dev * dev
    exp_avg.copy_(torch.where(mask, new_avg, exp_avg))
    exp_avg_sq.copy_(torch.where(mask, new_avg_sq, exp_avg_sq))
    # elements never seen have zero moments anyway; 1 - beta**t in float64 because
    # 1 - 0.999 loses five digits in float32
    t = t.clamp(min=1).double()
    bias_correction1 = (1 - beta1**t).to(grad.dtype)
    bias_correction2 = (1 - beta2**t).to(grad.dtype)
    denom = (exp_avg_sq / bias_correction2).sqrt().add_(group["eps"])
    return torch.where(mask, exp_avg / bias_correction1 / denom, torch.zeros_like(grad))


class ClippedAdam(PerParameterOptimizer):
    r"""Adam (Kingma & Ba 2014) with per-parameter gradient clipping and learning-rate decay.

    At step :math:`t = 1, 2, \dots` each parameter :math:`\theta` with gradient :math:`g`:

    1. clipping: :math:`g \leftarrow g \cdot \min(1, c / \|g\|_2)` with ``c = clip_norm``
       (the L2 norm of this parameter's whole gradient tensor; every parameter is clipped on
       its own; ``clip_norm=math.inf`` disables clipping);
    2. L2 penalty: :math:`g \leftarrow g + \lambda \theta` with ``lambda = weight_decay``;
    3. moments: :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
       :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2` (with ``centered_variance=True``,
       :math:`v \leftarrow \beta_2 v + (1-\beta_2) (g - m)^2`, the centered variance of
       equation 2 of [2], with the updated :math:`m`);
    4. update: :math:`\theta \leftarrow \theta - \frac{\eta_t}{1-\beta_1^t}\,
       m / (\sqrt{v / (1-\beta_2^t)} + \epsilon)`;

    and after the update each group's learning rate decays, ``lr <- lr * lrd``, so step
    :math:`t` uses :math:`\eta_t = \mathrm{lr}\cdot\mathrm{lrd}^{t-1}` (the ``lr`` given is
    the first step's). The gradient stored in ``p.grad`` is not modified.

    Clipping rescales a parameter's whole gradient to L2 norm at most ``clip_norm``
    (direction kept); pyro-ppl 1.9 instead clamps each gradient element to
    ``[-clip_norm, clip_norm]``. The two agree whenever no clipping happens.

    :param params: iterable of parameters to optimize or dicts defining parameter groups.
    :param lr: learning rate (default 1e-3).
    :param betas: coefficients of the running averages of the gradient and its square
        (default (0.9, 0.999)).
    :param eps: term added to the denominator for numerical stability (default 1e-8).
    :param weight_decay: L2 penalty (default 0).
    :param clip_norm: largest L2 norm of a parameter's gradient (default 10.0).
    :param lrd: factor by which the learning rate decays after every step (default 1.0).
    :param centered_variance: use the centered variance (default False).
    :raises ValueError: for a negative ``lr``/``eps``/``weight_decay``, betas outside [0, 1),
        a non-positive ``clip_norm`` or ``lrd``.
    :raises RuntimeError: at ``step`` for sparse gradients (use ``SparseAdam``).

    **References**

    [1] *Adam: A Method for Stochastic Optimization*, Diederik P. Kingma, Jimmy Ba (2014),
        https://arxiv.org/abs/1412.6980

    [2] *A Two-Step Machine Learning Method for Predicting the Formation Energy of Ternary
        Compounds*, V. Rengaraj, S. Jost, F. Bethke, C. Plessl, H. Mirhosseini, A. Walther,
        T. D. Kuehne (2023), Computation 11(5): 95, https://doi.org/10.3390/computation11050095
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        clip_norm: float = 10.0,
        lrd: float = 1.0,
        centered_variance: bool = False,
    ) -> None:
        check_adam_args("ClippedAdam", lr, betas, eps, clip_norm, lrd, weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            clip_norm=clip_norm,
            lrd=lrd,
            centered_variance=bool(centered_variance),
        )
        super().__init__(params, defaults)

    def _step_param(self, group: dict[str, Any], p: torch.Tensor) -> None:
        grad = clip_gradient(p, group["clip_norm"], type(self).__name__)
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        p.sub_(adam_direction(self.state[p], grad, group), alpha=group["lr"])
