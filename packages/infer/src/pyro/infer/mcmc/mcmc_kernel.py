"""The interface every MCMC transition kernel implements (HMC, NUTS, third-party ones)."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

import torch

__all__ = ["MCMCKernel"]


class MCMCKernel(metaclass=ABCMeta):
    """A Markov transition kernel driven by :class:`~pyro.infer.mcmc.api.MCMC`.

    :class:`MCMC` calls, for each chain: ``kernel.initial_params = ...`` (optional),
    ``setup(warmup_steps, *args, **kwargs)``, then ``params = sample(params)`` once per
    iteration starting from ``initial_params``, ``logging()`` for the progress bar,
    ``diagnostics()`` at the end of the chain and finally ``cleanup()``.
    ``params`` is a dict site name -> value in the kernel's own (usually unconstrained)
    space; ``transforms`` (site name -> transform from constrained to that space) lets
    MCMC report constrained values.
    """

    def setup(self, warmup_steps: int, *args: Any, **kwargs: Any) -> None:
        """Prepare a chain of ``warmup_steps`` warmup iterations for ``model(*args, **kwargs)``."""

    def cleanup(self) -> None:
        """Release what :meth:`setup` made (called after every chain)."""

    def logging(self) -> dict[str, Any]:
        """Values shown in the progress bar (e.g. step size, acceptance probability)."""
        return {}

    def diagnostics(self) -> dict[str, Any]:
        """Per-chain diagnostics (e.g. ``divergences``, ``acceptance rate``)."""
        return {}

    @property
    def transforms(self) -> dict:
        """Site name -> transform from constrained values to the space of ``params``."""
        return {}

    @property
    @abstractmethod
    def initial_params(self) -> dict[str, torch.Tensor] | None:
        """The starting point of the chain (set before :meth:`setup` to override)."""

    @initial_params.setter
    @abstractmethod
    def initial_params(self, params: dict[str, torch.Tensor] | None) -> None:
        pass

    @abstractmethod
    def sample(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One Markov transition from ``params``; returns the new state."""

    def __call__(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.sample(params)
