"""``TraceMeanField_ELBO``: the ELBO with analytic KL divergences where available."""
from __future__ import annotations

from typing import Any

import torch
from torch.distributions import kl_divergence

from pyro.poutine.trace_struct import site_log_prob, site_score_parts
from pyro.poutine.util import site_is_subsample
from pyro.primitive_distributions.util import scale_and_mask

from .jit_elbo import JitELBOMixin
from .trace_elbo import Trace_ELBO
from .util import is_validation_enabled

__all__ = ["JitTraceMeanField_ELBO", "TraceMeanField_ELBO"]

# (guide type, model type) pairs without a registered KL: skip the lookup next time
_NO_KL: dict[tuple[type, type], bool] = {}


def _kl(guide_fn: Any, model_fn: Any):
    key = (type(guide_fn), type(model_fn))
    if key in _NO_KL:
        return None
    try:
        return kl_divergence(guide_fn, model_fn)
    except NotImplementedError:
        _NO_KL[key] = True
        return None


class TraceMeanField_ELBO(Trace_ELBO):
    """A Trace_ELBO for mean-field guides: for each latent site, ``E_q[log p(z) - log
    q(z)]`` is replaced by ``-KL(q(z) || p(z))`` computed in closed form when
    ``torch.distributions.kl_divergence`` has a rule for the pair of distributions (and
    estimated with the guide's draw otherwise). Observed sites are estimated as usual.

    The analytic KL is exact only when the model's distribution at a site does not depend
    on other latent sites (a mean-field / conjugate-free structure); it lowers the
    variance of the estimate. Guide sites must be reparameterizable.

    **References**

    [1] D. Kingma, M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (closed-form
        KL term).
    """

    def _particle_terms(self, model_trace, guide_trace) -> tuple[Any, Any]:
        elbo: torch.Tensor | float = 0.0
        guide_nodes = guide_trace.nodes
        for name, model_site in model_trace.nodes.items():
            if model_site["type"] != "sample" or site_is_subsample(model_site):
                continue
            guide_site = guide_nodes.get(name)
            if model_site["is_observed"] or guide_site is None or guide_site["type"] != "sample":
                elbo = elbo + site_log_prob(model_site).sum()
                continue
            if is_validation_enabled() and not getattr(guide_site["fn"], "has_rsample", False):
                raise ValueError(
                    f"TraceMeanField_ELBO: guide site {name!r} ({type(guide_site['fn']).__name__}) "
                    f"is not reparameterizable; use Trace_ELBO or TraceGraph_ELBO"
                )
            kl = _kl(guide_site["fn"], model_site["fn"])
            if kl is None:
                entropy_term = site_score_parts(guide_site)[2]
                elbo = elbo + site_log_prob(model_site).sum() - entropy_term.sum()
                continue
            kl = scale_and_mask(kl, guide_site["scale"], guide_site["mask"])
            if isinstance(kl, torch.Tensor):
                elbo = elbo - kl.sum()
            else:
                elbo = elbo - kl * torch.Size(guide_site["fn"].batch_shape).numel()
        for name, guide_site in guide_nodes.items():
            if guide_site["type"] != "sample" or site_is_subsample(guide_site):
                continue
            if name in model_trace.nodes:
                continue
            entropy_term = site_score_parts(guide_site)[2]
            if isinstance(entropy_term, torch.Tensor):
                elbo = elbo - entropy_term.sum()
        return -elbo, -elbo


class JitTraceMeanField_ELBO(JitELBOMixin, TraceMeanField_ELBO):
    """:class:`TraceMeanField_ELBO` compiled with :func:`pyro.ops.jit.trace`: the same loss and
    gradient estimates, with the model and guide replayed as a recorded graph (see
    :mod:`pyro.infer.jit_elbo` for the models this supports and why).

    Takes :class:`TraceMeanField_ELBO`'s arguments; ``ignore_jit_warnings=True`` silences the
    tracer's warnings and ``jit_options`` are passed to ``torch.jit.trace``.

    :raises RuntimeError: at the first call, naming the model, the guide and the cause,
        when their run cannot be compiled.
    """
