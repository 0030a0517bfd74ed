"""``SVI``: stochastic variational inference, one optimizer step at a time."""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch

from pyro import poutine
from pyro.plugins import event_hook
from pyro.site_errors import explain_invalid_parameter

from .abstract_infer import TracePosterior
from .elbo import ELBO, collect_params
from .util import torch_item, zero_grads

__all__ = ["SVI"]


class SVI(TracePosterior):
    """A unified interface for stochastic variational inference.

    Each :meth:`step` runs the guide and the model, computes a gradient estimate of the
    loss, lets ``optim`` update every parameter that appeared in either of them (their
    unconstrained leaf tensors), and zeroes the gradients.

    :param model: the model (a callable with Pyro primitives).
    :param guide: the guide (a callable with Pyro primitives), sampling every latent site
        of the model.
    :param optim: a :class:`pyro.optim.PyroOptim` (called with the iterable of
        unconstrained parameter tensors after ``backward``).
    :param loss: an :class:`~pyro.infer.elbo.ELBO` instance, or a callable
        ``loss(model, guide, *args, **kwargs) -> tensor`` (then ``backward`` is called on
        its result), or the string ``"ELBO"`` of Pyro 0.1 (a ``Trace_ELBO``).
    :param loss_and_grads: optional callable ``(model, guide, *args, **kwargs) -> loss``
        that also computes the gradients; by default the ELBO's own.
    :param int num_samples: posterior traces collected by the deprecated :meth:`run`.
    :param int num_steps: optimization steps taken by the deprecated :meth:`run`.
    :raises ValueError: if ``optim`` is not callable with the parameters or ``loss`` is
        neither an ELBO nor a callable.

    The ``pyro_svi_step`` plugin hook wraps :meth:`step` when (and only when) a plugin
    implements it.
    """

    def __init__(
        self,
        model: Callable,
        guide: Callable,
        optim: Any,
        loss: Any,
        loss_and_grads: Callable | None = None,
        num_samples: int = 0,
        num_steps: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(model):
            raise ValueError(f"SVI: model must be callable, got {type(model).__name__}")
        if not callable(guide):
            raise ValueError(f"SVI: guide must be callable, got {type(guide).__name__}")
        if not callable(optim):
            raise ValueError(
                f"SVI: optim must be a pyro.optim optimizer "
                f"(e.g. pyro.optim.Adam({{'lr': 1e-3}})), "
                f"got {type(optim).__name__}"
            )
        if isinstance(loss, str):
            if loss != "ELBO":
                raise ValueError(f"SVI: unknown loss {loss!r}; pass an ELBO instance")
            warnings.warn(
                "SVI(loss='ELBO') is Pyro 0.1's spelling; use loss=pyro.infer.Trace_ELBO()",
                FutureWarning,
                stacklevel=2,
            )
            from .trace_elbo import Trace_ELBO

            loss = Trace_ELBO()
        self.model = model
        self.guide = guide
        self.optim = optim
        self.num_steps = num_steps
        self.num_samples = num_samples
        if isinstance(loss, ELBO):
            self.loss = loss.loss
            if loss_and_grads is None:
                self.loss_and_grads = loss.loss_and_grads
                self._loss_grads_params = loss.loss_and_grads_and_params
            else:
                self.loss_and_grads = loss_and_grads
                self._loss_grads_params = _capturing_params(loss_and_grads)
        elif callable(loss):
            self.loss = loss
            if loss_and_grads is None:

                def _loss_and_grads(model, guide, *args, **kwargs):
                    value = loss(model, guide, *args, **kwargs)
                    if isinstance(value, torch.Tensor) and value.requires_grad:
                        value.backward()
                    return value

                loss_and_grads = _loss_and_grads
            self.loss_and_grads = loss_and_grads
            self._loss_grads_params = _capturing_params(loss_and_grads)
        else:
            raise ValueError(
                f"SVI: loss must be an ELBO instance or a callable, got {type(loss).__name__}"
            )
        # a PyroOptim takes the parameters by name; any other callable gets the tensors
        self._optim_takes_names = bool(getattr(optim, "accepts_param_names", False))
        self.elbo = loss

    # ---------------------------------------------------------------- steps

    def step(self, *args, **kwargs) -> float:
        """Take one gradient step; returns the loss estimate (a float) before the step.
        ``args`` and ``kwargs`` are passed to the model and the guide."""
        hook = event_hook("pyro_svi_step")
        if hook is None:
            return self._step(args, kwargs)
        result = hook.call_extra([self._hooked_step], {"svi": self, "args": args, "kwargs": kwargs})
        if isinstance(result, list):
            result = result[0] if result else None
        return result

    def _hooked_step(self, svi, args, kwargs) -> float:
        return self._step(args, kwargs)

    def _step(self, args, kwargs) -> float:
        try:  # free unless it raises
            loss, params = self._loss_grads_params(self.model, self.guide, *args, **kwargs)
        except ValueError as e:
            better = explain_invalid_parameter(e)  # name the site and the pyro.param
            if better is None:
                raise
            raise better from e
        tensors = list(params.values())
        self.optim(params if self._optim_takes_names else tensors)
        zero_grads(tensors)
        return torch_item(loss)

    def evaluate_loss(self, *args, **kwargs) -> float:
        """The loss estimate (a float) with no gradient computed and no parameter
        changed. ``args`` and ``kwargs`` are passed to the model and the guide."""
        with torch.no_grad():
            try:
                return torch_item(self.loss(self.model, self.guide, *args, **kwargs))
            except ValueError as e:
                better = explain_invalid_parameter(e)
                if better is None:
                    raise
                raise better from e

    # ------------------------------------------------ deprecated TracePosterior API

    def run(self, *args, **kwargs) -> SVI:
        """Deprecated: take ``num_steps`` steps, then collect ``num_samples`` traces of
        the model run against guide draws (a :class:`TracePosterior`)."""
        warnings.warn(
            "SVI.run is deprecated; call svi.step in a loop and use pyro.infer.Predictive",
            FutureWarning,
            stacklevel=2,
        )
        for _ in range(self.num_steps):
            self.step(*args, **kwargs)
        return super().run(*args, **kwargs)

    def _traces(self, *args, **kwargs):
        for _ in range(self.num_samples):
            guide_trace = poutine.trace(self.guide).get_trace(*args, **kwargs)
            model_trace = poutine.trace(poutine.replay(self.model, trace=guide_trace)).get_trace(
                *args, **kwargs
            )
            yield model_trace, 1.0


def _capturing_params(loss_and_grads: Callable) -> Callable:
    """``loss_and_grads`` made to return ``(loss, {name: unconstrained param})`` too, the
    parameters found by a param-only trace of its run (for losses that are not ELBOs)."""

    def loss_grads_params(model, guide, *args, **kwargs):
        with poutine.trace(param_only=True) as capture:
            loss = loss_and_grads(model, guide, *args, **kwargs)
        return loss, collect_params(capture.trace)

    return loss_grads_params
