"""The velocity Verlet (leapfrog) integrator of Hamiltonian dynamics and the evaluation
of a potential energy with its gradient.

:func:`leapfrog` works on flat tensors ``(..., D)`` (a batch of chains) and is the one
integrator of :class:`~pyro.infer.mcmc.HMC` and :class:`~pyro.infer.mcmc.NUTS`;
:func:`velocity_verlet` and :func:`potential_grad` are Pyro's dict-of-sites interface to it.

**References**

- R. M. Neal (2011), "MCMC using Hamiltonian dynamics", Handbook of Markov Chain Monte
  Carlo, chapter 5, section 5.2.3.3 (leapfrog).
- M. Betancourt (2017), "A Conceptual Introduction to Hamiltonian Monte Carlo",
  arXiv:1701.02434, section 5.1.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

__all__ = ["leapfrog", "potential_grad", "register_exception_handler", "velocity_verlet"]

_EXCEPTION_HANDLERS: dict[str, Callable[[Exception], bool]] = {}


def register_exception_handler(name: str, handler: Callable[[Exception], bool],
                               warn_on_overwrite: bool = True) -> None:
    """Register ``handler(exception) -> bool``: when it returns True for an exception raised
    by a potential function, :func:`potential_grad` returns a NaN energy and gradient
    instead of raising (HMC / NUTS then count the step as divergent).

    :param str name: key of the handler (registering a name again replaces it).
    :param bool warn_on_overwrite: warn when ``name`` is already registered.
    """
    if name in _EXCEPTION_HANDLERS and warn_on_overwrite:
        warnings.warn(f"register_exception_handler: overwriting the handler {name!r}",
                      RuntimeWarning, stacklevel=2)
    _EXCEPTION_HANDLERS[name] = handler


def _is_singular(e: Exception) -> bool:
    """Cholesky / LU failures of a matrix that is not positive definite or singular."""
    if isinstance(e, getattr(torch.linalg, "LinAlgError", ())):
        return True
    return isinstance(e, RuntimeError) and any(
        s in str(e) for s in ("singular", "not positive-definite", "cholesky"))


register_exception_handler("cholesky", _is_singular)


def handled_exception(e: Exception) -> bool:
    """Whether a registered handler accepts ``e`` (the step then counts as divergent)."""
    return any(handler(e) for handler in _EXCEPTION_HANDLERS.values())


def potential_grad(potential_fn: Callable[[dict], torch.Tensor], z: dict[str, torch.Tensor]
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The gradient of ``potential_fn`` at ``z`` and its value.

    :param potential_fn: dict of site values -> scalar potential energy.
    :param dict z: site name -> tensor.
    :returns: ``(grads, potential_energy)``, ``grads`` a dict like ``z``. An exception
        accepted by a registered handler (:func:`register_exception_handler`) gives NaN
        gradients and energy.
    """
    z_nodes = {k: v.detach().requires_grad_(True) for k, v in z.items()}
    try:
        with torch.enable_grad():
            potential_energy = potential_fn(z_nodes)
            grad_list = torch.autograd.grad(potential_energy, list(z_nodes.values()),
                                            allow_unused=True)
    except Exception as e:
        if not handled_exception(e):
            raise
        some = next(iter(z.values()))
        nan = some.new_tensor(float("nan"))
        return {k: torch.full_like(v, float("nan")) for k, v in z.items()}, nan
    grads = {k: torch.zeros_like(v) if g is None else g
             for (k, v), g in zip(z_nodes.items(), grad_list)}
    return grads, potential_energy.detach()


def leapfrog(z: torch.Tensor, r: torch.Tensor, grad: torch.Tensor, step_size,
             value_and_grad: Callable, velocity: Callable, num_steps: int = 1):
    """``num_steps`` leapfrog steps on flat coordinates::

        r <- r - eps/2 dU/dz;  z <- z + eps M^-1 r;  r <- r - eps/2 dU/dz

    Consecutive half steps of the momentum are fused, so ``L`` steps cost ``L`` gradient
    evaluations. Inputs are not modified.

    :param z: position ``(..., D)``.
    :param r: momentum ``(..., D)``.
    :param grad: ``dU/dz`` at ``z``, ``(..., D)``.
    :param step_size: a float or a tensor broadcastable against ``z`` (one per chain);
        negative integrates backwards in time.
    :param value_and_grad: ``z -> (U(z), dU/dz)``.
    :param velocity: ``r -> M^-1 r`` (the gradient of the kinetic energy).
    :returns: ``(z, r, potential_energy, grad)`` at the end.

    **References** Neal (2011), section 5.2.3.3.
    """
    if isinstance(step_size, torch.Tensor):  # fused multiply-adds: fewer small-tensor ops
        r = torch.addcmul(r, step_size, grad, value=-0.5)
        pe = None
        for i in range(num_steps):
            z = torch.addcmul(z, step_size, velocity(r))
            pe, grad = value_and_grad(z)
            r = torch.addcmul(r, step_size, grad, value=-1.0 if i + 1 < num_steps else -0.5)
        return z, r, pe, grad
    half = 0.5 * step_size
    r = r.add(grad, alpha=-half)
    pe = None
    for i in range(num_steps):
        z = z.add(velocity(r), alpha=step_size)
        pe, grad = value_and_grad(z)
        r = r.add(grad, alpha=-(step_size if i + 1 < num_steps else half))
    return z, r, pe, grad


def velocity_verlet(z: dict[str, torch.Tensor], r: dict[str, torch.Tensor],
                    potential_fn: Callable[[dict], torch.Tensor],
                    kinetic_grad: Callable[[dict], dict], step_size: float,
                    num_steps: int = 1, z_grads: dict[str, torch.Tensor] | None = None):
    """Pyro's interface of :func:`leapfrog` on dicts of sites.

    :param dict z: site -> position.
    :param dict r: site -> momentum.
    :param potential_fn: dict of positions -> potential energy.
    :param kinetic_grad: dict of momenta -> dict of velocities ``M^-1 r``.
    :param float step_size: leapfrog step size.
    :param int num_steps: number of steps.
    :param dict z_grads: the potential's gradient at ``z`` (computed when None).
    :returns: ``(z_next, r_next, z_grads, potential_energy)``.
    """
    names = list(z)
    sizes = [z[k].numel() for k in names]
    shapes = [z[k].shape for k in names]

    def flat(d):
        return torch.cat([d[k].reshape(-1) for k in names])

    def unflat(v):
        return {k: p.reshape(s) for k, p, s in zip(names, v.split(sizes), shapes)}

    def value_and_grad(zf):
        g, pe = potential_grad(potential_fn, unflat(zf))
        return pe, flat(g)

    def velocity(rf):
        return flat(kinetic_grad(unflat(rf)))

    if z_grads is None:
        z_grads, _ = potential_grad(potential_fn, z)
    zf, rf, pe, gf = leapfrog(flat(z), flat(r), flat(z_grads), step_size, value_and_grad,
                              velocity, num_steps)
    if pe is None:  # num_steps == 0
        _, pe = potential_grad(potential_fn, z)
    return unflat(zf), unflat(rf), unflat(gf), pe
