""":class:`AutoLaplaceApproximation`: a MAP guide over the unconstrained latent vector
whose :meth:`~AutoLaplaceApproximation.laplace_approximation` turns the mode and the
Hessian there into a Gaussian guide."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.distributions.transforms import AffineTransform

import pyro
import pyro.distributions as dist
from pyro import poutine

from .continuous import AutoContinuous, AutoMultivariateNormal
from .initialization import init_to_median

__all__ = ["AutoLaplaceApproximation"]


class AutoLaplaceApproximation(AutoContinuous):
    """A point-mass guide on the unconstrained latent vector (parameter
    ``"AutoLaplaceApproximation.loc"``, shape ``(latent_dim,)``): trained with
    Trace_ELBO its loss is ``-log p(x, T(u)) - log|det J_T(u)|``, the negative log joint
    density in unconstrained space, so SVI finds its mode ``u*``. Afterwards
    :meth:`laplace_approximation` returns an :class:`AutoMultivariateNormal` with mean
    ``u*`` and covariance ``H^-1``, ``H`` the Hessian of that loss at ``u*``.

    :param model: the model.
    :param init_loc_fn: initialization strategy (default ``init_to_median``).
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :param str prefix: prefix of the parameter names (default: the class name).

    **References**

    [1] P.-S. Laplace, "Memoir on the probability of the causes of events", 1774
        (translated by S. M. Stigler, Statistical Science 1(3), 1986).

    [2] D. J. C. MacKay, "Information Theory, Inference, and Learning Algorithms",
        chapter 27 (Laplace's method), Cambridge University Press, 2003.
    """

    def __init__(self, model: Callable, init_loc_fn: Callable = init_to_median, *,
                 create_plates: Callable | None = None, prefix: str | None = None) -> None:
        super().__init__(model, init_loc_fn, create_plates=create_plates, prefix=prefix)

    def _setup_latent(self) -> None:
        self._loc_name = self._param_name("loc")
        self._loc_init = self._init_latent.clone()

    def _loc(self) -> torch.Tensor:
        return self._exposed_param(self._loc_name, self._loc_init)

    def get_base_dist(self) -> dist.Delta:
        """A point mass at the origin, event shape ``(latent_dim,)``."""
        return dist.Delta(torch.zeros_like(self._init_latent), event_dim=1)

    def get_transform(self, *args, **kwargs) -> AffineTransform:
        """The shift ``x -> loc + x`` (event dim 1) moving the base point mass to ``loc``."""
        self._ensure_setup(args, kwargs)
        return AffineTransform(self._loc(), 1.0, event_dim=1)

    def get_posterior(self, *args, **kwargs) -> dist.Delta:
        """``Delta(loc)`` over the latent vector."""
        self._ensure_setup(args, kwargs)
        return dist.Delta(self._loc(), event_dim=1)

    def _loc_scale(self, *args, **kwargs):
        loc = self._loc()
        return loc, torch.zeros_like(loc)

    def _neg_log_joint(self, latent: torch.Tensor, args, kwargs) -> torch.Tensor:
        """``-log p(x, T(u)) - log|det J_T(u)|`` at the latent vector ``u``."""
        values = {}
        log_det = latent.new_zeros(())
        for site, u in self._unpack_sites(latent):
            value = site.transform(u)
            values[site.name] = value
            if not site.identity:
                log_det = log_det + site.transform.log_abs_det_jacobian(u, value).sum()
        with poutine.block():
            trace = poutine.trace(poutine.condition(self.model, data=values)).get_trace(
                *args, **kwargs)
        return -(trace.log_prob_sum() + log_det)

    def laplace_approximation(self, *args, **kwargs) -> AutoMultivariateNormal:
        """The Laplace approximation at the current ``loc`` (the MAP after training): an
        :class:`AutoMultivariateNormal` of the same model with ``loc`` and covariance
        ``H^-1``, ``H = torch.autograd.functional.hessian`` of the negative log joint in
        unconstrained space at ``loc``. Its parameters (prefix
        ``"AutoMultivariateNormal"``) replace any stored under that prefix.

        :raises ValueError: if ``H`` is not positive definite (``loc`` is not a strict
            local mode: train longer, or the posterior is not locally log-concave).
        """
        self._ensure_setup(args, kwargs)
        with torch.no_grad():
            loc = self._loc().detach().clone()
        hessian = torch.autograd.functional.hessian(
            lambda u: self._neg_log_joint(u, args, kwargs), loc)
        hessian = (hessian + hessian.transpose(-1, -2)) / 2
        chol_h, info = torch.linalg.cholesky_ex(hessian)
        if int(info) != 0:
            raise ValueError(
                f"{type(self).__name__}.laplace_approximation: the Hessian of the negative log "
                f"joint at loc is not positive definite (eigenvalues "
                f"{torch.linalg.eigvalsh(hessian).tolist()}); loc is not a strict local mode: "
                f"train the guide longer, or the posterior is not log-concave there"
            )
        cov = torch.cholesky_inverse(chol_h)
        scale_tril = torch.linalg.cholesky(cov)
        scale = scale_tril.diagonal().clone()
        unit_tril = scale_tril / scale[:, None]

        gaussian = AutoMultivariateNormal(self.model, init_loc_fn=self.init_loc_fn,
                                          create_plates=self.create_plates)
        gaussian._setup_prototype(*args, **kwargs)
        gaussian._inits = {"loc": loc, "scale": scale, "scale_tril": unit_tril}
        store = pyro.get_param_store()
        for name in gaussian._names.values():
            if name in store:
                del store[name]
        with poutine.block(), torch.no_grad():
            gaussian._params()
        return gaussian
