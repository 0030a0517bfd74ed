""":class:`AutoIAFNormal`: an inverse autoregressive flow over the unconstrained latent
vector (pyro-nn's ``AutoRegressiveNN`` inside pyro-distributions'
``AffineAutoregressive``), an :class:`AutoNormalizingFlow` with a fixed transform."""
from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from functools import partial

from pyro.distributions.transforms import affine_autoregressive, iterated

from .normalizing_flow import AutoNormalizingFlow, flow_options

__all__ = ["AutoIAFNormal"]


def _hidden_dims(owner: str, hidden_dim) -> list[int] | None:
    """``hidden_dim`` as a list of positive ints (an int is one layer), or None."""
    if hidden_dim is None:
        return None
    dims = [hidden_dim] if isinstance(hidden_dim, numbers.Integral) else list(hidden_dim)
    if not dims or any(isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1
                       for h in dims):
        raise ValueError(f"{owner}: hidden_dim must be a positive int or a list of them, "
                         f"got {hidden_dim!r}")
    return [int(h) for h in dims]


class AutoIAFNormal(AutoNormalizingFlow):
    """An inverse autoregressive flow guide: a standard Normal vector of length
    ``latent_dim`` pushed through ``num_transforms`` affine autoregressive transforms
    ``y = mu(x) + sigma(x) * x`` (each with its own MADE network of random order), as a
    :class:`~pyro.distributions.transforms.ComposeTransformModule`. As in Pyro the guide
    does not depend on the model's arguments and starts from the flows' own
    initialisation.

    The networks are registered with ``pyro.module("{prefix}.transform", ...)`` (parameter
    names ``"AutoIAFNormal.transform$$$0.arn.layers.0.weight"``, ..., as in Pyro) and are
    submodules of the guide. :meth:`median` and :meth:`quantiles` are Monte Carlo estimates
    (the flow's marginals have no closed form).

    Usage::

        guide = AutoIAFNormal(model, hidden_dim=[latent_dim])
        svi = SVI(model, guide, ...)

    :param model: the model.
    :param hidden_dim: hidden width(s) of each network: a list of ints, or an int for one
        layer (default ``[3 * latent_dim + 1]``, that of
        :func:`~pyro.distributions.transforms.affine_autoregressive`).
    :param init_loc_fn: kept for backwards compatibility; as in Pyro it has no effect (a
        ``FutureWarning`` says so when given).
    :param int num_transforms: number of stacked flows (default 1).
    :param init_transform_kwargs: other keyword arguments of
        :func:`~pyro.distributions.transforms.affine_autoregressive` (e.g. ``stable=True``,
        ``log_scale_min_clip``); ``create_plates`` and ``prefix`` go to the base guide.
    :raises ValueError: if ``num_transforms`` or ``hidden_dim`` is not positive.

    **References**

    [1] D. P. Kingma, T. Salimans, R. Jozefowicz, X. Chen, I. Sutskever, M. Welling,
        "Improving Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016.

    [2] M. Germain, K. Gregor, I. Murray, H. Larochelle, "MADE: Masked Autoencoder for
        Distribution Estimation", ICML 2015.
    """

    def __init__(self, model: Callable, hidden_dim: int | Sequence[int] | None = None,
                 init_loc_fn: Callable | None = None, num_transforms: int = 1,
                 **init_transform_kwargs) -> None:
        owner = type(self).__name__
        self.num_transforms, base = flow_options(owner, num_transforms, init_loc_fn,
                                                 init_transform_kwargs)
        self.hidden_dim: list[int] | None = _hidden_dims(owner, hidden_dim)
        transform_fn = partial(iterated, self.num_transforms, affine_autoregressive,
                               hidden_dims=self.hidden_dim, **init_transform_kwargs)
        super().__init__(model, transform_fn, **base)
