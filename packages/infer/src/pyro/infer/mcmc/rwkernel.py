"""A Gaussian random-walk Metropolis kernel on the unconstrained latent space.

**References**

- N. Metropolis, A. W. Rosenbluth, M. N. Rosenbluth, A. H. Teller, E. Teller (1953),
  "Equation of state calculations by fast computing machines", J. Chem. Phys. 21.
- G. O. Roberts, A. Gelman, W. R. Gilks (1997), "Weak convergence and optimal scaling of
  random walk Metropolis algorithms", Ann. Appl. Probab. 7(1) (the 0.234 target).
- C. Andrieu, J. Thoms (2008), "A tutorial on adaptive MCMC", Statistics and Computing
  18 (Robbins-Monro adaptation of the proposal scale).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..initialization import init_to_uniform
from .mcmc_kernel import MCMCKernel
from .potential import ModelPotential
from .util import setup_potential, unconstraining_transforms

__all__ = ["RandomWalkKernel"]


class RandomWalkKernel(MCMCKernel):
    """Random-walk Metropolis: propose ``z' = z + step_size * N(0, I)`` in unconstrained
    space and accept with probability ``min(1, exp(U(z) - U(z')))``. During warmup the log
    step size follows a Robbins-Monro recursion towards ``target_accept_prob``. Needs no
    gradients, so it also serves models whose log density is not differentiable; it mixes
    far more slowly than :class:`~pyro.infer.mcmc.NUTS` on smooth models.

    :param callable model: a Pyro model with continuous latent sites.
    :param float init_step_size: the initial proposal scale (> 0).
    :param float target_accept_prob: the acceptance rate warmup aims for, in (0, 1).
    :raises ValueError: for a non-positive step size or a target outside (0, 1).

    **References** Metropolis et al. (1953); Roberts, Gelman & Gilks (1997); Andrieu &
    Thoms (2008).
    """

    def __init__(self, model: Callable, init_step_size: float = 0.1,
                 target_accept_prob: float = 0.234) -> None:
        if not init_step_size > 0:
            raise ValueError(f"init_step_size must be positive, got {init_step_size}")
        if not 0 < target_accept_prob < 1:
            raise ValueError(f"target_accept_prob must be in (0, 1), got {target_accept_prob}")
        self.model = model
        self.init_step_size = float(init_step_size)
        self.target_accept_prob = target_accept_prob
        self.init_strategy = init_to_uniform
        self._initial_params: dict | None = None
        self._potential: ModelPotential | None = None
        self._last: dict[str, torch.Tensor] | None = None
        self._t = 0
        self._accepted = 0
        self._all_accept_sum = 0.0

    def setup(self, warmup_steps: int, *args: Any, **kwargs: Any) -> None:
        potential, z0, _ = setup_potential(self.model, args, kwargs, None, self.init_strategy,
                                           self._initial_params)
        self._potential = potential
        self._warmup_steps = int(warmup_steps)
        self._t = 0
        self._log_step = math.log(self.init_step_size)
        self._z = z0.detach()
        with torch.no_grad():
            self._pe = float(potential.potential(self._z))
        self._accept_sum = 0.0
        self._count = 0
        self._accepted = 0  # sampling-phase accepted proposals (Pyro's _accept_cnt)
        self._all_accept_sum = 0.0  # over every iteration (Pyro's _mean_accept_prob)
        self._last = potential.unpack(self._z)

    @property
    def step_size(self) -> float:
        return math.exp(self._log_step)

    @property
    def initial_params(self) -> dict | None:
        return self._last if self._last is not None else self._initial_params

    @initial_params.setter
    def initial_params(self, params: dict | None) -> None:
        self._initial_params = params

    @property
    def transforms(self) -> dict:
        return {} if self._potential is None else unconstraining_transforms(self._potential)

    def sample(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        potential = self._potential
        if potential is None:
            raise RuntimeError("RandomWalkKernel.sample: call setup(warmup_steps, *args, "
                               "**kwargs) first (MCMC does)")
        if params is not self._last:
            self._z = potential.pack(params).detach()
            with torch.no_grad():
                self._pe = float(potential.potential(self._z))
        proposal = self._z + self.step_size * torch.randn_like(self._z)
        with torch.no_grad():
            pe = float(potential.potential(proposal))
        delta = self._pe - pe if pe == pe else -math.inf
        accept_prob = 1.0 if delta >= 0 else math.exp(delta)
        accepted = float(torch.rand(())) < accept_prob
        if accepted:
            self._z, self._pe = proposal, pe
        self._all_accept_sum += accept_prob
        if self._t < self._warmup_steps:
            # Robbins-Monro: log scale += (a_t - target) / (t + 1)^0.6
            self._log_step += (accept_prob - self.target_accept_prob) / (self._t + 1) ** 0.6
        else:
            self._accept_sum += accept_prob
            self._count += 1
            self._accepted += accepted
        self._t += 1
        last = self._last = potential.unpack(self._z)
        return last

    # Pyro's attributes, read by MCMC(hook_fn=...) programs written for Pyro
    @property
    def _accept_cnt(self) -> int:
        """Accepted proposals of the sampling phase."""
        return self._accepted

    @property
    def _mean_accept_prob(self) -> float:
        """Mean acceptance probability over every iteration so far (warmup included)."""
        return self._all_accept_sum / self._t if self._t else 0.0

    def logging(self) -> dict[str, Any]:
        rate = self._accept_sum / self._count if self._count else math.nan
        return {"step size": f"{self.step_size:.2e}", "acc. prob": f"{rate:.3f}"}

    def diagnostics(self) -> dict[str, Any]:
        rate = self._accept_sum / self._count if self._count else math.nan
        return {"acceptance rate": rate}
