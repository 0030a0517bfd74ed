"""Gumbel-softmax (concrete) variables from uniform noise."""
from __future__ import annotations

import torch

import pyro
import pyro.distributions as dist

from .reparam import Reparam, ReparamMessage, ReparamResult, deterministic_site


class GumbelSoftmaxReparam(Reparam):
    r"""Reparameterizer of latent ``RelaxedOneHotCategorical`` sites (and its
    straight-through variant) [1, 2]: samples ``"{name}_uniform"``
    :math:`u \sim \mathrm{Uniform}(0, 1)` of the site's shape and sets
    :math:`x = \mathrm{softmax}((\mathrm{logits} - \log(-\log u)) / T)` (for the
    straight-through variant, the one-hot of its argmax with the gradient of :math:`x`).

    :raises TypeError: at a site of another distribution.
    :raises NotImplementedError: at an observed site, as in Pyro.

    **References**

    [1] E. Jang, S. Gu, B. Poole (2017), "Categorical Reparameterization with
        Gumbel-Softmax".

    [2] C. J. Maddison, A. Mnih, Y. W. Teh (2017), "The Concrete Distribution".
    """

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name = msg["name"]
        if msg["is_observed"]:
            raise NotImplementedError(f"GumbelSoftmaxReparam at site {name!r}: observed sites "
                                      f"are not supported")
        fn, event_dim = self._unwrap(msg["fn"])
        if not isinstance(fn, torch.distributions.RelaxedOneHotCategorical):
            raise TypeError(f"GumbelSoftmaxReparam at site {name!r} needs "
                            f"RelaxedOneHotCategorical, got {type(fn).__name__}")
        logits = fn.logits.expand(fn.batch_shape + fn.event_shape)
        uniform = dist.Uniform(torch.zeros_like(logits), torch.ones_like(logits)).to_event(1)
        u = pyro.sample(f"{name}_uniform", self._wrap(uniform, event_dim))
        tiny = torch.finfo(u.dtype).tiny
        gumbel = -(-u.clamp(min=tiny).log()).clamp(min=tiny).log()
        value = ((logits + gumbel) / fn.temperature.unsqueeze(-1)).softmax(-1)
        if isinstance(fn, dist.RelaxedOneHotCategoricalStraightThrough):
            hard = torch.nn.functional.one_hot(value.argmax(-1), value.size(-1)).to(value)
            value = hard + (value - value.detach())
        return deterministic_site(value, event_dim + 1)
