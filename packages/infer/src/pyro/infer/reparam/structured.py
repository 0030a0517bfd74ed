"""Preconditioning by a trained AutoStructured guide (NeuTra-style, for MCMC)."""
from __future__ import annotations

import torch

import pyro.distributions as dist
from pyro import poutine

from .autoguide_reparam import AutoGuideReparam, latent_names
from .reparam import ReparamMessage, ReparamResult


class StructuredReparam(AutoGuideReparam):
    r"""Preconditioning reparameterizer of all latent sites of a model by a trained
    ``AutoStructured`` guide, in the spirit of neural transport [1]; typically for HMC/NUTS.

    Each latent site becomes a deterministic function of the guide's auxiliary noise sites
    ``"{site}_aux"`` (now masked sites of the model: a flat density): ``z = T(e)``, the
    guide's structured (triangular) map. The site carries the model's density at ``z`` plus
    :math:`\log|\det \partial z / \partial e|` of its block, so the model's density of
    ``e`` is the posterior pulled back through the guide: near a standard Normal where the
    guide is good. All sites must share one instance, and the model must have static
    structure; observed sites and sites outside the guide are left unchanged::

        guide = AutoStructured(model, ...)
        ...  # train the guide with SVI
        reparam = StructuredReparam(guide)
        mcmc = MCMC(NUTS(reparam.reparam(model)), num_samples=500)
        mcmc.run(...)
        samples = reparam.transform_samples(mcmc.get_samples())

    :param guide: a trained ``AutoStructured`` guide.
    :raises TypeError: if ``guide`` is not an ``AutoStructured``.
    :raises NotImplementedError: at an observed site of the guide's latents.

    **References**

    [1] M. Hoffman, P. Sountsov, J. V. Dillon, I. Langmore, D. Tran, S. Vasudevan (2019),
        "NeuTra-lizing Bad Geometry in Hamiltonian Monte Carlo Using Neural Transport",
        https://arxiv.org/abs/1903.03704
    """

    guide_class = "AutoStructured"

    def __init__(self, guide) -> None:
        super().__init__(guide)
        self.deltas: dict[str, dist.Delta] = {}

    def _transport(self, msg: ReparamMessage) -> ReparamResult:
        name, fn = msg["name"], msg["fn"]
        if not self.deltas:  # the first site of a model run draws every auxiliary noise
            args, kwargs = self.args_kwargs or ((), {})
            # the noises get a flat prior: the model's density of e is p(T(e)) |dT/de|
            with poutine.mask(mask=False):
                self.deltas = self.guide.get_deltas(*args, **kwargs)
        delta = self._take(self.deltas, name)
        value = delta.v
        # the guide's Delta holds -log|dz/de| of this block (a guide density); the model
        # needs its density at z times |dz/de|
        log_density = fn.log_prob(value) - delta.log_density
        new_fn = dist.Delta(value, log_density=log_density, event_dim=len(fn.event_shape))
        return {"fn": new_fn, "value": value, "is_observed": True}

    def transform_samples(self, aux_samples: dict[str, torch.Tensor],
                          save_params: list[str] | None = None) -> dict[str, torch.Tensor]:
        """Map draws of the auxiliary sites ``"{site}_aux"`` (each with an optional
        leading batch dim, e.g. MCMC draws) to ``{site: value}`` of the model's latents.

        :param dict aux_samples: auxiliary site name -> draws (other keys are ignored).
        :param list save_params: optional names of the sites to return (default all).
        :returns: a dict site name -> tensor of shape ``batch + site shape``.
        """
        trace = self.guide.prototype_trace
        if trace is None:
            raise RuntimeError("StructuredReparam: the guide has not run yet; train it or run "
                               "the reparameterized model first")
        names = latent_names(trace)
        keep = names if save_params is None else [n for n in names if n in save_params]
        aux = {f"{n}_aux": aux_samples[f"{n}_aux"] for n in names if f"{n}_aux" in aux_samples}
        if not aux:
            with torch.no_grad(), poutine.block():
                return {n: d.v for n, d in self.guide.get_deltas().items() if n in keep}
        first = next(iter(aux.values()))
        batch = first.shape[:-1]
        flat = {k: v.reshape((-1, v.size(-1))) for k, v in aux.items()}
        draws: dict[str, list] = {n: [] for n in keep}
        with torch.no_grad():
            for i in range(flat[next(iter(flat))].size(0)):
                data = {k: v[i] for k, v in flat.items()}
                with poutine.block(), poutine.condition(data=data):
                    deltas = self.guide.get_deltas()
                for n in keep:
                    draws[n].append(deltas[n].v)
        return {n: torch.stack(v).reshape(batch + v[0].shape) for n, v in draws.items()}
