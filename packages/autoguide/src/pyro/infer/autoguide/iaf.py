""":class:`AutoIAFNormal`: an inverse autoregressive flow over the unconstrained latent
vector (pyro-nn's ``AutoRegressiveNN`` inside pyro-distributions'
``AffineAutoregressive``)."""
from __future__ import annotations

import numbers
from typing import Callable, List, Optional, Sequence, Union

import torch
from torch.distributions.transforms import AffineTransform, ComposeTransform

import pyro
import pyro.distributions as dist
from pyro.distributions.transforms import AffineAutoregressive
from pyro.nn import AutoRegressiveNN

from .continuous import AutoContinuous
from .initialization import init_to_median

__all__ = ["AutoIAFNormal"]


class AutoIAFNormal(AutoContinuous):
    """An inverse autoregressive flow guide: a standard Normal vector of length
    ``latent_dim`` pushed through ``num_transforms`` affine autoregressive transforms
    ``y = mu(x) + sigma(x) * x`` (each with its own MADE network of random order) and then
    shifted by the initial location given by ``init_loc_fn``.

    The networks are registered with ``pyro.module("{prefix}.transforms", ...)`` (parameter
    names ``"AutoIAFNormal.transforms$$$0.arn.layers.0.weight"``, ...) and are submodules
    of the guide. :meth:`median` and :meth:`quantiles` are Monte Carlo estimates from
    ``num_quantile_samples`` draws (the flow's marginals have no closed form).

    :param model: the model.
    :param hidden_dim: hidden width(s) of each network: an int or a list of ints
        (default ``[3 * latent_dim + 10]``).
    :param init_loc_fn: initialization strategy of the shift (default ``init_to_median``).
    :param int num_transforms: number of stacked flows (default 1).
    :param init_transform_kwargs: passed to ``AffineAutoregressive`` (e.g. ``stable=True``,
        ``log_scale_min_clip``).

    **References**

    [1] D. P. Kingma, T. Salimans, R. Jozefowicz, X. Chen, I. Sutskever, M. Welling,
        "Improving Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016.

    [2] M. Germain, K. Gregor, I. Murray, H. Larochelle, "MADE: Masked Autoencoder for
        Distribution Estimation", ICML 2015.
    """

    def __init__(self, model: Callable, hidden_dim: Optional[Union[int, Sequence[int]]] = None,
                 init_loc_fn: Callable = init_to_median, num_transforms: int = 1, *,
                 create_plates: Optional[Callable] = None, prefix: Optional[str] = None,
                 **init_transform_kwargs) -> None:
        if isinstance(num_transforms, bool) or not isinstance(num_transforms, numbers.Integral) \
                or num_transforms < 1:
            raise ValueError(f"{type(self).__name__}: num_transforms must be a positive int, "
                             f"got {num_transforms!r}")
        if hidden_dim is not None:
            dims = [hidden_dim] if isinstance(hidden_dim, numbers.Integral) else list(hidden_dim)
            if not dims or any(isinstance(h, bool) or not isinstance(h, numbers.Integral)
                               or h < 1 for h in dims):
                raise ValueError(f"{type(self).__name__}: hidden_dim must be a positive int "
                                 f"or a list of them, got {hidden_dim!r}")
            hidden_dim = [int(h) for h in dims]
        super().__init__(model, init_loc_fn, create_plates=create_plates, prefix=prefix)
        self.hidden_dim: Optional[List[int]] = hidden_dim
        self.num_transforms = int(num_transforms)
        self._init_transform_kwargs = init_transform_kwargs
        self.transforms: Optional[torch.nn.ModuleList] = None

    def _setup_latent(self) -> None:
        init = self._init_latent
        dim = self.latent_dim
        if self.hidden_dim is None:
            self.hidden_dim = [3 * dim + 10]
        self.transforms = torch.nn.ModuleList(
            AffineAutoregressive(AutoRegressiveNN(dim, self.hidden_dim, param_dims=[1, 1]),
                                 **self._init_transform_kwargs)
            for _ in range(self.num_transforms)
        ).to(device=init.device, dtype=init.dtype)
        self._module_name = self._param_name("transforms")

    def get_transform(self, *args, **kwargs) -> ComposeTransform:
        """The flows followed by the shift to the initial location: maps
        :meth:`get_base_dist` (standard Normal) to the guide's latent distribution."""
        self._require_setup(args, kwargs)
        pyro.module(self._module_name, self.transforms, update_module_params=True)
        # cache_size=1 on every part: scoring a draw of the posterior reads the flows'
        # inputs from their caches instead of inverting them (latent_dim network passes)
        shift = AffineTransform(self._init_latent, 1.0, event_dim=1, cache_size=1)
        return ComposeTransform(list(self.transforms) + [shift])

    def get_posterior(self, *args, **kwargs) -> dist.TransformedDistribution:
        """``TransformedDistribution(Normal(0, I), flows + shift)`` over the latent
        vector."""
        self._require_setup(args, kwargs)
        return dist.TransformedDistribution(self.get_base_dist(),
                                            self.get_transform(*args, **kwargs))
