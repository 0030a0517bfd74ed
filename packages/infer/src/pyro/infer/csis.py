"""``CSIS``: compiled sequential importance sampling (inference compilation)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pyro import poutine
from pyro.poutine.trace_messenger import TraceMessenger

from .elbo import collect_params
from .importance import Importance
from .util import torch_item

__all__ = ["CSIS"]


class CSIS(Importance):
    """Compiled sequential importance sampling [1]: train the guide, an amortized
    proposal ``q(z | x)``, on draws ``(z, x)`` from the model's joint distribution by
    minimizing ``E_{p(x, z)}[-log q(z | x)]`` (that is ``E_x KL(p(z | x) || q(z | x))``
    up to a constant: mass covering, as importance sampling wants), then use it as the
    proposal of :class:`~pyro.infer.Importance` for any observed data.

    The model's observed sites are made latent with :func:`~pyro.poutine.uncondition`
    to draw ``x``; the guide receives the draws as the keyword argument
    ``observations`` (a dict ``{site name: value}``), so the model and guide take the
    data the same way, e.g. ``model(..., observations={"x1": ...})``.

    Example::

        csis = CSIS(model, guide, pyro.optim.Adam({"lr": 1e-3}), num_inference_samples=50)
        for _ in range(1000):
            csis.step(prior_mean)
        posterior = csis.run(prior_mean, observations={"x1": x1, "x2": x2})
        z = EmpiricalMarginal(posterior, "z")

    :param model: the model.
    :param guide: the proposal, with the model's arguments and ``observations``.
    :param optim: a :class:`pyro.optim.PyroOptim` for the guide's parameters.
    :param int num_inference_samples: importance samples drawn by :meth:`run`.
    :param int training_batch_size: joint draws per :meth:`step`.
    :param int validation_batch_size: joint draws kept for :meth:`validation_loss`.

    **References**

    [1] T. A. Le, A. G. Baydin, F. Wood, "Inference Compilation and Universal
        Probabilistic Programming", AISTATS 2017.
    """

    def __init__(self, model: Callable, guide: Callable, optim: Any,
                 num_inference_samples: int = 10, training_batch_size: int = 10,
                 validation_batch_size: int = 20) -> None:
        super().__init__(model, guide, num_inference_samples)
        for name, value in (("training_batch_size", training_batch_size),
                            ("validation_batch_size", validation_batch_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"CSIS: {name} must be a positive int, got {value!r}")
        self.model = model
        self.guide = guide
        self.optim = optim
        self.training_batch_size = training_batch_size
        self.validation_batch_size = validation_batch_size
        self.validation_batch: list[Any] | None = None

    def set_validation_batch(self, *args, **kwargs) -> None:
        """Draw and keep ``validation_batch_size`` joint samples for
        :meth:`validation_loss` (``args``/``kwargs`` go to the model)."""
        self.validation_batch = [
            self._sample_from_joint(*args, **kwargs) for _ in range(self.validation_batch_size)
        ]

    def step(self, *args, **kwargs) -> float:
        """One optimization step of the guide on a fresh batch of joint draws; returns
        the batch's loss ``mean -log q(z | x)`` (a float)."""
        with TraceMessenger(param_only=True) as capture:
            loss = self._batch_loss(None, args, kwargs, grads=True)
        params = list(collect_params(capture.trace).values())
        if not params:
            raise ValueError("CSIS: the guide has no parameters to train (use pyro.param or "
                             "pyro.module in it)")
        self.optim(params)
        for p in params:
            p.grad = None
        return loss

    def loss_and_grads(self, grads: bool, batch: list[Any] | None, *args, **kwargs) -> float:
        """``mean -log q(z | x)`` over ``batch`` (model traces; a fresh batch of
        ``training_batch_size`` joint draws when ``None``), backpropagated into the
        guide's parameters when ``grads``.

        :returns: the loss (a float).
        """
        return self._batch_loss(batch, args, kwargs, grads=grads)

    def _batch_loss(self, batch: list[Any] | None, args: tuple, kwargs: dict, *,
                    grads: bool) -> float:
        if batch is None:
            batch = [self._sample_from_joint(*args, **kwargs)
                     for _ in range(self.training_batch_size)]
        total = 0.0
        for model_trace in batch:
            guide_trace = self._guide_trace(model_trace, args, kwargs)
            loss = -guide_trace.log_prob_sum() / len(batch)
            if grads and loss.requires_grad:
                loss.backward()
            total += torch_item(loss.detach())
        return total

    def validation_loss(self, *args, **kwargs) -> float:
        """The loss on the kept validation batch (drawn on the first call), no gradient."""
        if self.validation_batch is None:
            self.set_validation_batch(*args, **kwargs)
        with torch.no_grad():
            return self._batch_loss(self.validation_batch, args, kwargs, grads=False)

    # ----------------------------------------------------------------- helpers

    def _sample_from_joint(self, *args, **kwargs):
        """A trace of the model with its observed sites drawn (``was_observed`` set)."""
        with poutine.block(), torch.no_grad():
            return poutine.trace(poutine.uncondition(self.model)).get_trace(*args, **kwargs)

    def _guide_trace(self, model_trace, args, kwargs):
        observations = {
            name: site["value"]
            for name, site in model_trace.nodes.items()
            if site["type"] == "sample" and site["infer"].get("was_observed")
        }
        guide_kwargs = dict(kwargs)
        guide_kwargs["observations"] = observations
        return poutine.trace(poutine.replay(self.guide, trace=model_trace)).get_trace(
            *args, **guide_kwargs
        )


