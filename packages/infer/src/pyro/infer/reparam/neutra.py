"""Neural transport (NeuTra) reparameterization by a trained AutoContinuous guide."""
from __future__ import annotations

import torch
from torch.distributions import biject_to

import pyro
import pyro.distributions as dist
from pyro.distributions.util import sum_rightmost

from .autoguide_reparam import AutoGuideReparam
from .reparam import ReparamMessage, ReparamResult


class NeuTraReparam(AutoGuideReparam):
    r"""Neural transport reparameterizer [1] of the latent sites of a model, from a trained
    ``AutoContinuous`` guide (e.g. ``AutoIAFNormal``) whose posterior is
    ``get_transform()`` applied to ``get_base_dist()``.

    All the guide's latent sites become deterministic functions of one auxiliary site
    ``"{first site}_shared_latent"`` :math:`z` (in the base space, flat prior: the site is
    masked): the unconstrained sites are :math:`u = T(z)`, split and constrained like the
    guide's. The first site carries the model's density plus
    :math:`\log|\det \partial T/\partial z|`, each site its own constraint's Jacobian, so
    the model's joint density of :math:`z` is the posterior pushed back through the flow:
    where the guide is good this is nearly the base Gaussian, which HMC/NUTS sample well.
    Use ``config=lambda _: neutra`` for the model's sites and
    :meth:`transform_sample` to map draws of :math:`z` back::

        guide = AutoIAFNormal(model)
        svi = SVI(model, guide, Adam({"lr": 1e-3}), Trace_ELBO())
        ...  # train the guide
        neutra = NeuTraReparam(guide.requires_grad_(False))
        neutra_model = poutine.reparam(model, config=lambda _: neutra)
        mcmc = MCMC(NUTS(neutra_model), 500)
        mcmc.run(...)
        samples = neutra.transform_sample(mcmc.get_samples()["x_shared_latent"])

    Sites that the guide does not cover (observed sites) are left unchanged.

    :param guide: a trained ``AutoContinuous`` guide.
    :raises TypeError: if ``guide`` is not an ``AutoContinuous`` guide.
    :raises NotImplementedError: at an observed site of the guide's latents.

    **References**

    [1] M. Hoffman, P. Sountsov, J. V. Dillon, I. Langmore, D. Tran, S. Vasudevan (2019),
        "NeuTra-lizing Bad Geometry in Hamiltonian Monte Carlo Using Neural Transport",
        https://arxiv.org/abs/1903.03704
    """

    guide_class = "AutoContinuous"

    def __init__(self, guide) -> None:
        super().__init__(guide)
        self.x_unconstrained: dict[str, tuple] = {}

    def _transport(self, msg: ReparamMessage) -> ReparamResult:
        name, fn = msg["name"], msg["fn"]
        log_density: torch.Tensor | float = 0.0
        if not self.x_unconstrained:  # the first site of a model run draws the shared latent
            base = self.guide.get_base_dist()
            z = pyro.sample(f"{name}_shared_latent", base.mask(mask=False))
            transform = self.guide.get_transform()
            u = transform(z)
            ladj = transform.log_abs_det_jacobian(z, u)
            log_density = sum_rightmost(ladj, ladj.dim() - (z.dim() - 1))
            self.x_unconstrained = {site["name"]: (site, value)
                                    for site, value in self.guide.unpack_latent(u)}
        site, unconstrained = self._take(self.x_unconstrained, name)
        value = self._constrain(fn, unconstrained)
        event_dim = len(fn.event_shape)
        log_density = log_density + fn.log_prob(value) + self._log_jacobian(
            fn, unconstrained, value)
        new_fn = dist.Delta(value, log_density=log_density, event_dim=event_dim)
        return {"fn": new_fn, "value": value, "is_observed": True}

    @staticmethod
    def _constrain(fn, unconstrained: torch.Tensor) -> torch.Tensor:
        return biject_to(fn.support)(unconstrained)

    @staticmethod
    def _log_jacobian(fn, unconstrained: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        t = biject_to(fn.support)
        jac = t.log_abs_det_jacobian(unconstrained, value)
        return sum_rightmost(jac, len(fn.event_shape) - t.codomain.event_dim)

    def transform_sample(self, latent: torch.Tensor) -> dict[str, torch.Tensor]:
        """Map draws of the shared latent ``z`` (shape ``sample_shape + (latent_dim,)``)
        to ``{site name: constrained value}``.

        :param torch.Tensor latent: draws of the ``"*_shared_latent"`` site.
        """
        u = self.guide.get_transform()(latent)
        return {site["name"]: biject_to(site["fn"].support)(value)
                for site, value in self.guide.unpack_latent(u)}
