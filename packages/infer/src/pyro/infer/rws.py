"""``ReweightedWakeSleep``: importance-weighted wake and sleep losses for model and guide."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

import pyro
from pyro import poutine

from .elbo import collect_params
from .importance import sum_to_particles
from .importance_weighted_elbo import ImportanceWeightedELBO
from .util import torch_item

__all__ = ["ReweightedWakeSleep"]


class ReweightedWakeSleep(ImportanceWeightedELBO):
    """Reweighted wake-sleep [1, 2]: the model learns by maximizing an importance
    weighted estimate of ``log p(x)`` and the guide by (approximately) minimizing
    ``KL(p(z | x) || q(z | x))``, so no gradient flows through the guide's draws and
    discrete latents need no score function.

    With ``K`` guide draws ``z_i`` (values detached) and normalized weights ``w_i``
    proportional to ``p(x, z_i) / q(z_i | x)``:

    - wake-theta loss: ``-log (1/K) sum_i p(x, z_i) / q(z_i | x)``, differentiated with
      respect to the model's parameters;
    - wake-phi loss: ``-sum_i w_i log q(z_i | x)``, for the guide's parameters;
    - sleep-phi loss: ``-mean_j log q(z_j | x_j)`` over ``(z_j, x_j)`` drawn from the
      model with its observations made latent (:func:`~pyro.poutine.uncondition`); the
      guide is replayed against those draws with the same arguments.

    The guide's loss is ``insomnia * wake_phi + (1 - insomnia) * sleep_phi``.
    :meth:`loss` returns ``(wake_theta_loss, phi_loss)``; with :class:`~pyro.infer.SVI`
    one step backpropagates both (into model and guide parameters respectively).

    :param int num_particles: ``K`` for the wake phase (default 2).
    :param float insomnia: the weight of the wake-phi loss in ``[0, 1]`` (default 1:
        no sleep phase).
    :param bool model_has_params: whether to differentiate the wake-theta loss (set
        ``False`` to skip it for a model without parameters).
    :param int num_sleep_particles: the number of model draws of the sleep phase
        (default ``num_particles``).
    :param bool vectorize_particles: draw the particles in one vectorized run (default
        ``True``; the model and guide must then broadcast over a batch dim).
    :param max_plate_nesting: bound on nested plates (``inf``: found by running once).
    :raises ValueError: for ``insomnia`` outside ``[0, 1]``.

    **References**

    [1] J. Bornschein, Y. Bengio, "Reweighted Wake-Sleep", ICLR 2015.
    [2] T. A. Le, A. R. Kosiorek, N. Siddharth, Y. W. Teh, F. Wood, "Revisiting Reweighted
        Wake-Sleep for Models with Stochastic Control Flow", UAI 2019.
    """

    def __init__(
        self,
        num_particles: int = 2,
        insomnia: float = 1.0,
        model_has_params: bool = True,
        num_sleep_particles: int | None = None,
        vectorize_particles: bool = True,
        max_plate_nesting: float = float("inf"),
        strict_enumeration_warning: bool = True,
    ) -> None:
        if not 0.0 <= insomnia <= 1.0:
            raise ValueError(f"ReweightedWakeSleep: insomnia must be in [0, 1], got {insomnia}")
        super().__init__(
            num_particles=num_particles,
            max_plate_nesting=max_plate_nesting,
            vectorize_particles=vectorize_particles,
            strict_enumeration_warning=strict_enumeration_warning,
        )
        self.insomnia = insomnia
        self.model_has_params = model_has_params
        self.num_sleep_particles = (
            num_particles if num_sleep_particles is None else num_sleep_particles
        )

    # ------------------------------------------------------------------ phases

    def _losses(self, model: Callable, guide: Callable, args, kwargs) -> tuple[Any, Any]:
        """``(wake_theta_loss, phi_loss)`` as tensors whose gradients are the
        estimators' (the first with respect to the model only)."""
        wake_theta: torch.Tensor | float = 0.0
        wake_phi: torch.Tensor | float = 0.0
        if self.insomnia > 0 or self.model_has_params:
            parts = self._particle_log_probs(model, guide, args, kwargs, detach=True)
            log_w = parts.log_weights
            weights = torch.softmax(log_w.detach(), 0)
            log_evidence = log_w.detach().logsumexp(0) - math.log(log_w.numel())
            wake_theta = -log_evidence
            if self.model_has_params:
                theta_grad = (weights * parts.model_log_prob).sum()
                wake_theta = wake_theta - (theta_grad - theta_grad.detach())
            wake_phi = -(weights * parts.guide_log_prob).sum()
        sleep_phi: torch.Tensor | float = 0.0
        if self.insomnia < 1:
            sleep_phi = self._sleep_phi_loss(model, guide, args, kwargs)
        phi = self.insomnia * wake_phi + (1.0 - self.insomnia) * sleep_phi
        return wake_theta, phi

    def _sleep_phi_loss(self, model: Callable, guide: Callable, args, kwargs) -> torch.Tensor:
        """``-mean_j log q(z_j | x)`` over draws of the unconditioned model."""
        num = self.num_sleep_particles
        dreamer = poutine.uncondition(model)
        if self.vectorize_particles and num > 1:
            if self.max_plate_nesting == float("inf"):
                self._guess_max_plate_nesting(model, guide, args, kwargs)
            dim = self._particle_dim
            lp = _guide_log_prob(_in_plate(dreamer, num, dim), _in_plate(guide, num, dim),
                                 args, kwargs, dim, num)
            return -lp.mean()
        total = torch.stack([_guide_log_prob(dreamer, guide, args, kwargs, None, 1).sum()
                             for _ in range(num)]).sum()
        return -total / num


    # ------------------------------------------------------------------- API

    # Pyro's API: RWS reports its two losses (model and guide) where ELBOs report one
    def loss(  # type: ignore[override]
            self, model: Callable, guide: Callable, *args, **kwargs) -> tuple[float, float]:
        """``(wake_theta_loss, phi_loss)`` as floats."""
        with torch.no_grad():
            theta, phi = self._losses(model, guide, args, kwargs)
        return torch_item(theta), torch_item(phi)

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """``(wake_theta_loss, phi_loss)`` as differentiable tensors."""
        return self._losses(model, guide, args, kwargs)

    def loss_and_grads(self, model: Callable, guide: Callable, *args, **kwargs):
        """Backpropagate both losses; returns ``(wake_theta_loss, phi_loss)`` floats."""
        return self._loss_and_grads_and_params(model, guide, args, kwargs)[0]

    def _loss_and_grads_and_params(self, model, guide, args, kwargs):
        with poutine.trace(param_only=True) as capture:
            theta, phi = self._losses(model, guide, args, kwargs)
        total = theta + phi
        if isinstance(total, torch.Tensor) and total.requires_grad:
            total.backward(retain_graph=self.retain_graph)
        return (torch_item(_detach(theta)), torch_item(_detach(phi))), collect_params(
            capture.trace
        )


def _guide_log_prob(dreamer, guide, args, kwargs, dim: int | None, num: int) -> torch.Tensor:
    """Per-particle ``log q(z | x)`` of the guide replayed against a dream of the
    unconditioned model."""
    with torch.no_grad():
        dream = poutine.trace(dreamer).get_trace(*args, **kwargs)
    guide_trace = poutine.trace(poutine.replay(guide, trace=dream)).get_trace(*args, **kwargs)
    guide_trace.compute_log_prob()
    total = 0.0
    for site in guide_trace.nodes.values():
        if site["type"] == "sample" and "log_prob" in site:
            total = total + sum_to_particles(site["log_prob"], dim, num)
    if not isinstance(total, torch.Tensor):
        raise ValueError("ReweightedWakeSleep: the guide has no sample site to train in the "
                         "sleep phase")
    return total


def _in_plate(fn: Callable, size: int, dim: int) -> Callable:
    def wrapped(*args, **kwargs):
        with pyro.plate("num_particles_vectorized", size, dim=dim):
            return fn(*args, **kwargs)

    return wrapped


def _detach(x: Any) -> Any:
    return x.detach() if isinstance(x, torch.Tensor) else x
