"""``ClippedAdam``: Adam with per-parameter gradient clipping and learning-rate decay."""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping, Optional, Tuple, Union

import torch
from torch.optim import Optimizer


class ClippedAdam(Optimizer):
    r"""Adam (Kingma & Ba 2014) with per-parameter gradient clipping and learning-rate decay.

    At step :math:`t = 1, 2, \dots` each parameter :math:`\theta` with gradient :math:`g`:

    1. clipping: :math:`g \leftarrow g \cdot \min(1, c / \|g\|_2)` with ``c = clip_norm``
       (the L2 norm of this parameter's whole gradient tensor; every parameter is clipped on
       its own; ``clip_norm=math.inf`` disables clipping);
    2. L2 penalty: :math:`g \leftarrow g + \lambda \theta` with ``lambda = weight_decay``;
    3. moments: :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
       :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`;
    4. update: :math:`\theta \leftarrow \theta - \frac{\eta_t}{1-\beta_1^t}\,
       m / (\sqrt{v / (1-\beta_2^t)} + \epsilon)`;

    and after the update each group's learning rate decays, ``lr <- lr * lrd``, so step
    :math:`t` uses :math:`\eta_t = \mathrm{lr}\cdot\mathrm{lrd}^{t-1}` (the ``lr`` given is
    the first step's). The gradient stored in ``p.grad`` is not modified.

    :param params: iterable of parameters to optimize or dicts defining parameter groups.
    :param lr: learning rate (default 1e-3).
    :param betas: coefficients of the running averages of the gradient and its square
        (default (0.9, 0.999)).
    :param eps: term added to the denominator for numerical stability (default 1e-8).
    :param weight_decay: L2 penalty (default 0).
    :param clip_norm: largest L2 norm of a parameter's gradient (default 10.0).
    :param lrd: factor by which the learning rate decays after every step (default 1.0).
    :raises ValueError: for a negative ``lr``/``eps``/``weight_decay``, betas outside [0, 1),
        a non-positive ``clip_norm`` or ``lrd``.
    :raises RuntimeError: at ``step`` for sparse gradients (use ``SparseAdam``).

    **References**

    [1] *Adam: A Method for Stochastic Optimization*, Diederik P. Kingma, Jimmy Ba (2014),
        https://arxiv.org/abs/1412.6980
    """

    def __init__(
        self,
        params: Iterable[Union[torch.Tensor, dict]],
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        clip_norm: float = 10.0,
        lrd: float = 1.0,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"ClippedAdam: invalid learning rate lr={lr} (must be >= 0)")
        if not eps >= 0.0:
            raise ValueError(f"ClippedAdam: invalid eps={eps} (must be >= 0)")
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"ClippedAdam: invalid betas={betas} (two values in [0, 1))")
        if not weight_decay >= 0.0:
            raise ValueError(f"ClippedAdam: invalid weight_decay={weight_decay} (must be >= 0)")
        if not clip_norm > 0.0:
            raise ValueError(f"ClippedAdam: invalid clip_norm={clip_norm} (must be > 0)")
        if not lrd > 0.0:
            raise ValueError(f"ClippedAdam: invalid lrd={lrd} (must be > 0)")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            clip_norm=clip_norm,
            lrd=lrd,
        )
        super().__init__(params, defaults)

    @staticmethod
    def pyro_groupable(settings: Mapping[str, Any]) -> bool:
        """Parameters may share one ClippedAdam (PyroOptim's grouped mode) unless the
        learning rate decays: ``lrd != 1`` is group-level state."""
        return float(settings.get("lrd", 1.0)) == 1.0

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Perform one optimization step.

        :param closure: an optional closure that re-evaluates the model and returns the loss.
        :returns: the closure's loss, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps, weight_decay, clip_norm = group["eps"], group["weight_decay"], group["clip_norm"]
            clip = not math.isinf(clip_norm)
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if grad.is_sparse:
                    raise RuntimeError(
                        f"ClippedAdam does not support sparse gradients (parameter of shape "
                        f"{tuple(p.shape)}); use SparseAdam"
                    )
                if clip:
                    norm = torch.linalg.vector_norm(grad)
                    grad = grad * (clip_norm / norm.clamp(min=clip_norm))
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )
                state["step"] += 1
                t = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1**t
                bias_correction2 = 1 - beta2**t
                denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
                p.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
            if group["lrd"] != 1.0:
                group["lr"] = lr * group["lrd"]
        return loss
