"""Potential energy of a model on a flat vector of unconstrained latent coordinates.

``U(z) = -(log p(x(z), data) + log |det dx/dz|)`` where ``x(z)`` maps the unconstrained
coordinates of every latent site to its support with ``biject_to(site.support)`` (or a
user transform). The model runs once per evaluation under a single light handler that
substitutes the latent values and sums the log densities (scales and masks applied, as
in a trace's ``log_prob_sum``), so one gradient costs one model run and one backward.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch.distributions import biject_to
from torch.distributions.transforms import ComposeTransform, IndependentTransform, Transform

import pyro.distributions  # noqa: F401  (registers Pyro's constraints with biject_to)
from pyro.poutine.messenger import Messenger
from pyro.poutine.trace_struct import site_log_prob
from pyro.poutine.util import site_is_subsample

__all__ = ["DictPotential", "LatentSite", "LogJointMessenger", "ModelPotential",
           "value_and_grad"]


def _is_identity(t: Transform) -> bool:
    while isinstance(t, IndependentTransform):
        t = t.base_transform
    return isinstance(t, ComposeTransform) and len(t.parts) == 0


class LatentSite:
    """Layout of one latent site in the flat vector.

    :ivar str name: site name.
    :ivar torch.Size shape: shape of a constrained value.
    :ivar torch.Size unconstrained_shape: shape of its unconstrained coordinates.
    :ivar int size: number of unconstrained coordinates.
    :ivar transform: unconstrained -> constrained map, or None for the identity.
    """

    __slots__ = ("name", "shape", "unconstrained_shape", "size", "transform")

    def __init__(self, name: str, shape: torch.Size, unconstrained_shape: torch.Size,
                 transform: Transform | None) -> None:
        self.name = name
        self.shape = torch.Size(shape)
        self.unconstrained_shape = torch.Size(unconstrained_shape)
        self.size = self.unconstrained_shape.numel()
        self.transform = transform

    def __repr__(self) -> str:
        return (f"LatentSite({self.name!r}, shape={tuple(self.shape)}, "
                f"unconstrained_shape={tuple(self.unconstrained_shape)})")


def value_and_grad(potential: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``potential(z)`` (detached) and the gradient of its sum in ``z`` (zeros when it does
    not depend on ``z``), by running ``potential`` eagerly under autograd; ``z`` is
    detached first. Energies of a batch ``(C,)`` give each chain's gradient ``(C, D)``."""
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        pe = potential(z)
    if pe.requires_grad:
        (grad,) = torch.autograd.grad(pe.sum() if pe.dim() else pe, z)
    else:
        grad = torch.zeros_like(z)
    return pe.detach(), grad


class LogJointMessenger(Messenger):
    """Substitutes latent values and accumulates the scaled, masked log density.

    :meth:`log_joint_of` runs a model under it; subclasses change how one site's log
    density is reduced (:meth:`_reduce`), e.g. per chain.
    """

    def __init__(self) -> None:
        super().__init__()
        self.values: dict = {}
        self.log_joint: torch.Tensor | None = None

    def log_joint_of(self, model: Callable, args: tuple, kwargs: dict,
                     values: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Run ``model(*args, **kwargs)`` with its latent sites set to ``values``; the
        accumulated log density (``None`` for a model without sample sites)."""
        self.values = values
        self.log_joint = None
        try:
            with self:
                model(*args, **kwargs)
            return self.log_joint
        finally:
            self.values = {}
            self.log_joint = None

    def process_message(self, msg) -> None:
        if msg["type"] == "sample" and not msg["is_observed"] and not site_is_subsample(msg):
            value = self.values.get(msg["name"])
            if value is None:
                raise ValueError(
                    f"MCMC: latent site {msg['name']!r} was not in the model when it was "
                    f"initialized; HMC/NUTS need a model whose latent sites are the same on "
                    f"every run (static structure)"
                )
            msg["value"] = value

    def postprocess_message(self, msg) -> None:
        if msg["type"] != "sample" or site_is_subsample(msg):
            return
        if msg["mask"] is False:
            return
        # the one site log density of every inference algorithm (scaled and masked)
        total = self._reduce(msg, site_log_prob(msg))
        self.log_joint = total if self.log_joint is None else self.log_joint + total

    def _reduce(self, msg, log_prob: torch.Tensor) -> torch.Tensor:
        """The sum of one site's scaled and masked log density."""
        return log_prob.sum()


class _FlatLayout:
    """Packing of per-site unconstrained tensors into one flat vector and back."""

    def __init__(self, sites: list[LatentSite]) -> None:
        if not sites:
            raise ValueError("MCMC needs at least one continuous latent site; the model has "
                             "none (every sample site is observed)")
        self.sites = list(sites)
        self.names = [s.name for s in self.sites]
        self.sizes = [s.size for s in self.sites]
        self.dim = sum(self.sizes)

    def unpack(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Flat ``(..., D)`` -> dict name -> ``(...) + unconstrained_shape`` views."""
        batch = z.shape[:-1]
        return {s.name: part.reshape(batch + s.unconstrained_shape)
                for s, part in zip(self.sites, z.split(self.sizes, dim=-1))}

    def pack(self, params: dict[str, torch.Tensor], batch_shape=torch.Size()) -> torch.Tensor:
        """Dict name -> ``batch_shape + unconstrained_shape`` -> flat ``batch_shape + (D,)``.

        :raises KeyError: naming a missing site.
        """
        parts = []
        for s in self.sites:
            if s.name not in params:
                raise KeyError(f"no value for latent site {s.name!r}; expected values for "
                               f"{self.names}")
            v = torch.as_tensor(params[s.name])
            expected = torch.Size(batch_shape) + s.unconstrained_shape
            if v.shape != expected:
                raise ValueError(f"site {s.name!r}: expected an unconstrained value of shape "
                                 f"{tuple(expected)}, got {tuple(v.shape)}")
            parts.append(v.reshape(torch.Size(batch_shape) + (s.size,)))
        return torch.cat(parts, dim=-1)


class _PotentialBase(_FlatLayout):
    """Shared gradient evaluation: ``__call__(z) -> (potential energy, grad)``; subclasses
    define ``_potential_impl(z)``, the differentiable energy of a flat ``z``."""

    _potential_impl: Callable[[torch.Tensor], torch.Tensor]

    def potential(self, z: torch.Tensor) -> torch.Tensor:
        """The potential energy at flat ``z`` shaped ``(D,)``, differentiable in ``z``."""
        return self._potential_impl(z)

    def __call__(self, z: torch.Tensor) -> tuple[float, torch.Tensor]:
        pe, grad = value_and_grad(self._potential_impl, z)
        return pe.item(), grad

    def dict_potential_fn(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Pyro's ``potential_fn``: dict of unconstrained values -> potential energy."""
        return self.potential(self.pack(params))

    def constrain(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map unconstrained values (any batch shape) to constrained ones."""
        return dict(params)


class DictPotential(_PotentialBase):
    """Wraps a user ``potential_fn(params: dict) -> tensor`` over unconstrained values
    whose layout is given by ``example`` (a dict of tensors)."""

    def __init__(self, potential_fn: Callable, example: dict[str, torch.Tensor]) -> None:
        sites = [LatentSite(name, torch.as_tensor(v).shape, torch.as_tensor(v).shape, None)
                 for name, v in example.items()]
        super().__init__(sites)
        self.potential_fn = potential_fn

    def _potential_impl(self, z: torch.Tensor) -> torch.Tensor:
        pe = self.potential_fn(self.unpack(z))
        return pe if isinstance(pe, torch.Tensor) else z.new_tensor(pe)

    def dict_potential_fn(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.potential_fn(params)


class ModelPotential(_PotentialBase):
    """Potential energy of ``model(*model_args, **model_kwargs)`` on the flat vector,
    evaluated by running the model (the reference that
    :class:`~pyro.infer.mcmc.fast_potential.PotentialEnergy` compiles).

    :param callable model: the model.
    :param list sites: the latent sites (:class:`LatentSite`), in model order.
    """

    def __init__(self, model: Callable, model_args: tuple, model_kwargs: dict,
                 sites: list[LatentSite]) -> None:
        super().__init__(sites)
        self.model = model
        self.model_args = tuple(model_args)
        self.model_kwargs = dict(model_kwargs)
        self._messenger = LogJointMessenger()
        self._plan = [(s.name, s.unconstrained_shape, s.transform) for s in self.sites]
        #: names of the model's ``pyro.deterministic`` sites (reported with the samples)
        self.deterministic_names: list[str] = []

    def constrain(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for s in self.sites:
            u = params[s.name]
            out[s.name] = u if s.transform is None else s.transform(u)
        return out

    def _constrained_values(self, z: torch.Tensor):
        """Split the flat unconstrained ``z`` into each site's constrained value; also the
        summed log |det J| of the transforms (``None`` when no site is transformed)."""
        values = {}
        log_det = None
        for (name, shape, t), u in zip(self._plan, z.split(self.sizes)):
            u = u.view(shape)
            if t is None:
                values[name] = u
            else:
                x = t(u)
                values[name] = x
                ld = t.log_abs_det_jacobian(u, x).sum()
                log_det = ld if log_det is None else log_det + ld
        return values, log_det

    def log_joint_and_values(self, z: torch.Tensor):
        values, log_det = self._constrained_values(z)
        log_joint = self._messenger.log_joint_of(self.model, self.model_args,
                                                 self.model_kwargs, values)
        if log_joint is None:
            log_joint = z.new_zeros(())
        return log_joint, log_det

    def _potential_impl(self, z: torch.Tensor) -> torch.Tensor:
        log_joint, log_det = self.log_joint_and_values(z)
        return -log_joint if log_det is None else -(log_joint + log_det)


def make_latent_site(name: str, fn, value: torch.Tensor,
                     transform: Transform | None = None) -> tuple[LatentSite, torch.Tensor]:
    """The :class:`LatentSite` of a sample site with distribution ``fn`` and constrained
    ``value``, and the unconstrained value. ``transform`` (constrained -> unconstrained,
    Pyro's convention for ``transforms=``) overrides ``biject_to(fn.support)``."""
    t = biject_to(fn.support) if transform is None else transform.inv
    unconstrained = t.inv(value)
    site = LatentSite(name, value.shape, unconstrained.shape, None if _is_identity(t) else t)
    return site, unconstrained


def latent_sites_from_trace(trace_nodes: OrderedDict[str, dict],
                            transforms: dict | None = None):
    """Layout and unconstrained initial values from the sample sites of a trace."""
    transforms = {} if transforms is None else transforms
    sites, init = [], {}
    for name, node in trace_nodes.items():
        if node["type"] != "sample" or node["is_observed"] or site_is_subsample(node):
            continue
        support = getattr(node["fn"], "support", None)
        if getattr(support, "is_discrete", False) and \
                node["infer"].get("enumerate") == "parallel":
            continue  # summed out by the potential
        site, u = make_latent_site(name, node["fn"], node["value"].detach(), transforms.get(name))
        sites.append(site)
        init[name] = u
    return sites, init
