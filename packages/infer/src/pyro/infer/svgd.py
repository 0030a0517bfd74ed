"""``SVGD``: Stein variational gradient descent, with RBF and IMQ Stein kernels."""
from __future__ import annotations

import math
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from typing import Any

import torch
from torch.distributions import biject_to

import pyro
import pyro.distributions  # noqa: F401  (registers Pyro's constraints with biject_to)
from pyro import poutine

from .elbo import param_leaf
from .importance import sum_to_particles, vectorize_particles
from .util import site_is_subsample

__all__ = ["IMQSteinKernel", "RBFSteinKernel", "SVGD", "SteinKernel", "vectorize"]


def vectorize(fn: Callable, num_particles: int, max_plate_nesting: int) -> Callable:
    """``fn`` run inside a plate ``"num_particles_vectorized"`` of size ``num_particles``
    at dim ``-(max_plate_nesting + 1)``."""
    return vectorize_particles(fn, num_particles, max_plate_nesting)


def _differences(particles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_n - x_m, (x_n - x_m)^2)`` per dim, each of shape ``(N, N, D)``."""
    delta = particles.unsqueeze(1) - particles.unsqueeze(0)
    return delta, delta * delta


def _median_bandwidth(sq: torch.Tensor, per_dim: bool) -> torch.Tensor:
    """``median(||x_n - x_m||^2) / log N`` (Liu & Wang's heuristic), per dim or shared.
    Returns shape ``(D,)`` or ``()``, never zero."""
    n = sq.size(0)
    if not per_dim:
        sq = sq.sum(-1, keepdim=True)
    med = sq.reshape(n * n, -1).median(0).values
    h = med / math.log(max(n, 2))
    h = torch.where(h > 0, h, torch.ones_like(h))
    return h if per_dim else h.squeeze(-1)


class SteinKernel(metaclass=ABCMeta):
    """A kernel for :class:`SVGD`. ``mode`` (set by SVGD) is ``"univariate"`` (one
    kernel per dimension) or ``"multivariate"`` (one kernel on the whole vector)."""

    mode: str = "univariate"

    @abstractmethod
    def log_kernel_and_grad(self, particles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The log kernel and its gradient.

        :param torch.Tensor particles: shape ``(N, D)``.
        :returns: ``(log_kernel, kernel_grad)``: ``log_kernel[n, m]`` is
            ``log K(x_n, x_m)``, of shape ``(N, N, D)`` per dimension in univariate mode
            or ``(N, N)`` in multivariate mode; ``kernel_grad[n, m, d]`` is the derivative
            of (that dimension's) ``log K(x_n, x_m)`` with respect to ``x_{m, d}``.
        """


class RBFSteinKernel(SteinKernel):
    """The RBF kernel ``K(x, y) = exp(-||x - y||^2 / h)`` with the bandwidth
    ``h = bandwidth_factor * median(||x_n - x_m||^2) / log N`` chosen from the particles
    at each step [1] (per dimension in univariate mode).

    :param float bandwidth_factor: scales the heuristic bandwidth (default 1).

    **References**

    [1] Q. Liu, D. Wang, "Stein Variational Gradient Descent: A General Purpose Bayesian
        Inference Algorithm", NeurIPS 2016.
    """

    def __init__(self, bandwidth_factor: float | None = None) -> None:
        self.bandwidth_factor = 1.0 if bandwidth_factor is None else float(bandwidth_factor)

    def log_kernel_and_grad(self, particles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        univariate = self.mode == "univariate"
        delta, sq = _differences(particles)  # x_n - x_m and its square
        h = self.bandwidth_factor * _median_bandwidth(sq, per_dim=univariate)
        log_kernel = -sq / h if univariate else -sq.sum(-1) / h
        grad = 2.0 * delta / h  # d/dx_m of -(x_n - x_m)^2 / h
        return log_kernel, grad


class IMQSteinKernel(SteinKernel):
    """The inverse multi-quadric kernel ``K(x, y) = (alpha + ||x - y||^2 / h)^beta`` [1]
    (heavier tails than the RBF kernel), with ``h`` chosen as in
    :class:`RBFSteinKernel`.

    :param float alpha: positive offset (default 0.5).
    :param float beta: negative exponent in ``(-1, 0)`` (default -0.5).
    :param float bandwidth_factor: scales the heuristic bandwidth (default 1).
    :raises ValueError: for ``alpha <= 0`` or ``beta`` outside ``(-1, 0)``.

    **References**

    [1] J. Gorham, L. Mackey, "Measuring Sample Quality with Kernels", ICML 2017.
    [2] Q. Liu, D. Wang, "Stein Variational Gradient Descent", NeurIPS 2016.
    """

    def __init__(self, alpha: float = 0.5, beta: float = -0.5,
                 bandwidth_factor: float | None = None) -> None:
        if alpha <= 0:
            raise ValueError(f"IMQSteinKernel: alpha must be positive, got {alpha}")
        if not -1 < beta < 0:
            raise ValueError(f"IMQSteinKernel: beta must be in (-1, 0), got {beta}")
        self.alpha = alpha
        self.beta = beta
        self.bandwidth_factor = 1.0 if bandwidth_factor is None else float(bandwidth_factor)

    def log_kernel_and_grad(self, particles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        univariate = self.mode == "univariate"
        delta, sq = _differences(particles)  # x_n - x_m and its square
        h = self.bandwidth_factor * _median_bandwidth(sq, per_dim=univariate)
        base = self.alpha + (sq / h if univariate else sq.sum(-1) / h)
        log_kernel = self.beta * base.log()
        base = base if univariate else base.unsqueeze(-1)
        grad = -self.beta * (2.0 * delta / h) / base  # d/dx_m of beta log(alpha + d^2/h)
        return log_kernel, grad


class SVGD:
    """Stein variational gradient descent [1]: ``num_particles`` points in the model's
    unconstrained latent space moved jointly so that they approximate the posterior.

    Each :meth:`step` moves every particle ``x_n`` along

    .. math:: \\phi(x_n) = \\frac{1}{N} \\sum_m K(x_m, x_n) \\nabla \\log p(x_m) +
        \\nabla_{x_m} K(x_m, x_n)

    (attraction toward high posterior density, repulsion between particles), handing
    ``-phi`` to ``optim`` as the gradient. ``log p`` is the model's log joint density
    of the unconstrained latents (the log-Jacobian of each support's bijection
    included), computed for all particles at once in a vectorized run. Particles start
    at draws from the prior and live in the ParamStore as ``"svgd_particles.<site>"``.

    :param model: the model (its latent sites must be continuous).
    :param kernel: a :class:`SteinKernel` (e.g. :class:`RBFSteinKernel`).
    :param optim: a :class:`pyro.optim.PyroOptim` (e.g. ``Adam({"lr": 0.1})``).
    :param int num_particles: ``N``.
    :param int max_plate_nesting: the number of plates in the model.
    :param str mode: ``"univariate"`` (a kernel per latent dimension, scales to many
        dimensions) or ``"multivariate"`` (one kernel on the whole latent vector).
    :raises ValueError: for an unknown mode, a non-kernel, or fewer than 2 particles.

    **References**

    [1] Q. Liu, D. Wang, "Stein Variational Gradient Descent: A General Purpose Bayesian
        Inference Algorithm", NeurIPS 2016.
    [2] D. Wang, Q. Liu, "Nonlinear Stein Variational Gradient Descent for Learning
        Diversified Mixture Models", ICML 2019 (univariate kernels).
    """

    def __init__(self, model: Callable, kernel: SteinKernel, optim: Any, num_particles: int,
                 max_plate_nesting: int, mode: str = "univariate") -> None:
        if mode not in ("univariate", "multivariate"):
            raise ValueError(f"SVGD: mode must be 'univariate' or 'multivariate', got {mode!r}")
        if not isinstance(kernel, SteinKernel):
            raise ValueError(f"SVGD: kernel must be a SteinKernel, got {type(kernel).__name__}")
        if not isinstance(num_particles, int) or num_particles < 2:
            raise ValueError(f"SVGD: num_particles must be an int >= 2, got {num_particles!r}")
        self.model = model
        self.kernel = kernel
        self.optim = optim
        self.num_particles = num_particles
        self.max_plate_nesting = max_plate_nesting
        self.mode = mode
        self._vectorized = vectorize(model, num_particles, max_plate_nesting)
        self._sites: dict[str, Any] = {}  # site name -> support constraint

    # ------------------------------------------------------------ particles

    def _param_name(self, name: str) -> str:
        return f"svgd_particles.{name}"

    def _init_particles(self, args, kwargs) -> None:
        with poutine.block(), torch.no_grad():
            trace = poutine.trace(self._vectorized).get_trace(*args, **kwargs)
        for name, site in trace.nodes.items():
            if site["type"] != "sample" or site["is_observed"] or \
                    site_is_subsample(site):
                continue
            support = site["fn"].support
            if support.is_discrete:
                raise ValueError(f"SVGD: latent site {name!r} is discrete "
                                 f"({type(site['fn']).__name__}); SVGD needs continuous sites")
            value = site["value"].detach()
            if value.dim() == 0 or value.size(0) != self.num_particles:
                raise ValueError(
                    f"SVGD: site {name!r} has shape {tuple(value.shape)}, without the particle "
                    f"dim {-(self.max_plate_nesting + 1)} of size {self.num_particles}; set "
                    f"max_plate_nesting to the number of plates in the model"
                )
            pyro.param(self._param_name(name), value.clone(), constraint=support)
            self._sites[name] = support

    def get_named_particles(self) -> dict[str, torch.Tensor]:
        """``{site: tensor}`` of the particles' constrained values; the leading dim
        indexes the particles."""
        return {name: pyro.param(self._param_name(name)).detach() for name in self._sites}

    # ------------------------------------------------------------------ step

    def _log_density(self, leaves: dict[str, torch.Tensor], args, kwargs) -> torch.Tensor:
        """Per-particle log joint density of the unconstrained particles, shape ``(N,)``."""
        n, dim = self.num_particles, -(self.max_plate_nesting + 1)
        values = {}
        log_det = next(iter(leaves.values())).new_zeros(n)
        for name, u in leaves.items():
            transform = biject_to(self._sites[name])
            x = transform(u)
            values[name] = x
            ladj = transform.log_abs_det_jacobian(u, x)
            log_det = log_det + ladj.reshape(n, -1).sum(-1)
        with poutine.block():
            trace = poutine.trace(poutine.condition(self._vectorized, data=values)).get_trace(
                *args, **kwargs)
        trace.compute_log_prob()
        total = log_det
        for site in trace.nodes.values():
            if site["type"] == "sample" and "log_prob" in site:
                total = total + sum_to_particles(site["log_prob"], dim, n)
        return total

    def step(self, *args, **kwargs) -> dict[str, float]:
        """Move the particles one step; ``args``/``kwargs`` go to the model.

        :returns: ``{site: mean squared update}`` (floats), to monitor convergence.
        """
        if not self._sites:
            self._init_particles(args, kwargs)
        self.kernel.mode = self.mode
        n = self.num_particles
        leaves = {name: param_leaf(pyro.param(self._param_name(name))) for name in self._sites}
        sources = {name: u.detach().requires_grad_() for name, u in leaves.items()}
        log_p = self._log_density(sources, args, kwargs)
        scores = torch.autograd.grad(log_p.sum(), list(sources.values()))
        particles = torch.cat([u.detach().reshape(n, -1) for u in sources.values()], -1)
        score = torch.cat([g.reshape(n, -1) for g in scores], -1)
        log_kernel, kernel_grad = self.kernel.log_kernel_and_grad(particles)
        if log_kernel.dim() == 2:  # multivariate: one kernel for every dimension
            kernel = log_kernel.exp().unsqueeze(-1)
        else:
            kernel = log_kernel.exp()
        # phi(x_n) = mean_m K(x_m, x_n) (score(x_m) + d log K / d x_m)
        phi = (kernel * (score.unsqueeze(0) + kernel_grad)).mean(1)
        squared = {}
        offset = 0
        for name, u in leaves.items():
            size = u[0].numel() if u.dim() else 1
            update = phi[:, offset:offset + size].reshape(u.shape)
            offset += size
            u.grad = -update.to(u.dtype)
            squared[name] = update.pow(2).mean().item()
        self.optim(list(leaves.values()))
        for u in leaves.values():
            u.grad = None
        return squared
