"""The potential energy and its gradient for a batch of chains, without the handler
stack on every leapfrog step.

A model's potential runs the model under a light handler (see
:mod:`~pyro.infer.mcmc.potential`): about a millisecond per value and gradient for
eight schools, most of it Python. :class:`PotentialEnergy` records the tensor
operations of one evaluation once with ``torch.jit.trace`` (a flat plan of the model's
log density: no handlers, no distribution objects), checks that the plan reproduces the
traced model's energy and gradient at several points (and again a few times during
sampling), and otherwise, or with ``jit_compile=False``, evaluates the model eagerly.
Measured alternatives (``torch.func.grad_and_value``, ``torch.compile``) were slower
here once compile time is counted (see bench/README.md).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from pyro.ops.integrator import handled_exception

__all__ = ["PotentialEnergy"]

#: evaluations after which the plan is compared with the eager model again
_RECHECK_AT = (25, 400, 5000)


def _value_and_grad(fn: Callable, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        pe = fn(z)
    if pe.requires_grad:
        (grad,) = torch.autograd.grad(pe.sum(), z)
    else:
        grad = torch.zeros_like(z)
    return pe.detach(), grad


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    scale = float(b.abs().max()) if b.numel() else 0.0
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5 * max(scale, 1.0), equal_nan=True))


class PotentialEnergy:
    """``z (C, D) -> (U(z) (C,), dU/dz (C, D))`` for ``C`` chains.

    :param callable fn: the eager potential, ``(C, D) -> (C,)``, differentiable.
    :param jit_compile: ``None`` (default) uses the traced plan when it reproduces
        ``fn``; ``True`` always traces (Pyro's ``jit_compile``; warns and falls back to
        eager when tracing fails); ``False`` never traces.
    :param dict jit_options: keyword arguments of ``torch.jit.trace``.
    :param bool ignore_jit_warnings: silence ``torch.jit.TracerWarning``.

    Exceptions accepted by a handler of :func:`pyro.ops.integrator.register_exception_handler`
    give a NaN energy (the step is then divergent). Energies that are NaN are returned as
    NaN; callers treat them as infinite.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor],
                 jit_compile: bool | None = None, jit_options: dict | None = None,
                 ignore_jit_warnings: bool = False) -> None:
        self.fn = fn
        self.jit_compile = jit_compile
        self.jit_options = {"check_trace": False} if jit_options is None else dict(jit_options)
        self.ignore_jit_warnings = ignore_jit_warnings
        self._plan = None
        self._tried = jit_compile is False
        self._calls = 0
        self.reason = None  # why the plan is not used, for diagnostics

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_plan"] = None
        state["_tried"] = self.jit_compile is False
        return state

    @property
    def compiled(self) -> bool:
        """Whether evaluations use the traced plan."""
        return self._plan is not None

    def eager(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Value and gradient by running the model (the reference of the plan)."""
        return _value_and_grad(self.fn, z)

    def _build(self, z: torch.Tensor) -> None:
        self._tried = True
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            if self.ignore_jit_warnings or self.jit_compile is None:
                warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            fn = self.fn

            def energy(z: torch.Tensor) -> torch.Tensor:  # jit.trace takes functions only
                return fn(z)

            try:
                plan = torch.jit.trace(energy, (z.detach(),), **self.jit_options)
            except Exception as e:  # data-dependent Python, unsupported ops, ...
                self._give_up(f"torch.jit.trace failed: {type(e).__name__}: {e}")
                return
        # the plan must reproduce the model at the start and at points around it
        points = [z.detach()] + [z.detach() + s * torch.randn_like(z) for s in (0.1, 1.0, 2.0)]
        for p in points:
            if not self._agrees(plan, p):
                self._give_up("the traced plan differs from the model (Python control flow "
                              "on latent values?)")
                return
        self._plan = plan

    def _agrees(self, plan, z: torch.Tensor) -> bool:
        try:
            ref = self.eager(z)
        except Exception:
            return True  # the eager model fails here: nothing to compare
        try:
            got = _value_and_grad(plan, z)
        except Exception:
            return False
        if not bool(torch.isfinite(ref[0]).all()):
            return got[0].shape == ref[0].shape
        return _close(got[0], ref[0]) and _close(got[1], ref[1])

    def _give_up(self, reason: str) -> None:
        self.reason = reason
        self._plan = None
        if self.jit_compile:
            warnings.warn(f"HMC/NUTS jit_compile=True: {reason}; evaluating the model "
                          f"eagerly", RuntimeWarning, stacklevel=4)

    def __call__(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._tried:
            self._build(z)
        try:
            if self._plan is None:
                return _value_and_grad(self.fn, z)
            self._calls += 1
            if self._calls in _RECHECK_AT and not self._agrees(self._plan, z):
                self._give_up("the traced plan stopped matching the model")
                return _value_and_grad(self.fn, z)
            return _value_and_grad(self._plan, z)
        except Exception as e:
            if not handled_exception(e):
                raise
            nan = z.new_full(z.shape[:-1], float("nan"))
            return nan, torch.full_like(z, float("nan"))
