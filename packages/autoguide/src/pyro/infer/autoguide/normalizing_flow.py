"""Normalizing-flow guides over the unconstrained latent vector:
:class:`AutoNormalizingFlow` (any transform) and :class:`AutoBNAFNormal` (block neural
autoregressive flows). The flows come from :mod:`pyro.distributions.transforms`."""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch

import pyro
import pyro.distributions as dist
from pyro.distributions.transforms import block_autoregressive, iterated

from .continuous import AutoContinuous
from .initialization import init_to_feasible

__all__ = ["AutoBNAFNormal", "AutoNormalizingFlow"]


def flow_options(owner: str, num_transforms, init_loc_fn, kwargs: dict) -> tuple[int, dict]:
    """The arguments the flow guides with a fixed family share: checks ``num_transforms``
    (a positive int), warns that ``init_loc_fn`` has no effect (as in Pyro), and takes
    ``create_plates`` and ``prefix`` (for the base guide) out of ``kwargs``, the rest of
    which go to the transform's constructor.

    :returns: ``(num_transforms, {"create_plates": ..., "prefix": ...})``.
    :raises ValueError: if ``num_transforms`` is not a positive int.
    """
    if isinstance(num_transforms, bool) or not isinstance(num_transforms, numbers.Integral) \
            or num_transforms < 1:
        raise ValueError(f"{owner}: num_transforms must be a positive int, "
                         f"got {num_transforms!r}")
    if init_loc_fn is not None:
        warnings.warn(f"The `init_loc_fn` argument to {owner} is not used in practice (the "
                      f"flow starts from its own initialisation); please remove it",
                      FutureWarning, stacklevel=3)
    base = {"create_plates": kwargs.pop("create_plates", None),
            "prefix": kwargs.pop("prefix", None)}
    return int(num_transforms), base


class AutoNormalizingFlow(AutoContinuous):
    """A guide over the whole unconstrained latent vector: a standard Normal of length
    ``latent_dim`` pushed through the transform ``init_transform_fn(latent_dim)``. As in
    Pyro the guide does not depend on the model's arguments and starts from the flow's
    own initialisation (not from ``init_loc_fn``).

    Trainable transforms (``TransformModule`` / ``ComposeTransformModule``) are registered
    with ``pyro.module("{prefix}.transform", ...)`` (parameter names such as
    ``"AutoNormalizingFlow.transform$$$0.layers.0._weight"``, as in Pyro) and are
    submodules of the guide. :meth:`median` / :meth:`quantiles` are Monte Carlo estimates.

    Example::

        transform_init = partial(iterated, 2, block_autoregressive)
        guide = AutoNormalizingFlow(model, transform_init)

    :param model: the model.
    :param init_transform_fn: ``latent_dim -> Transform`` (a bijection of
        ``R^latent_dim``, event dim 1, e.g. from :mod:`pyro.distributions.transforms`).
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :param str prefix: prefix of the parameter names (default: the class name).
    :raises ValueError: if ``init_transform_fn`` is not callable or returns no
        ``torch.distributions.Transform``.

    **References**

    [1] D. Rezende, S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015.
    """

    def __init__(self, model: Callable, init_transform_fn: Callable, *,
                 init_loc_fn: Callable = init_to_feasible,
                 create_plates: Callable | None = None, prefix: str | None = None) -> None:
        if not callable(init_transform_fn):
            raise ValueError(f"{type(self).__name__}: init_transform_fn must be a callable "
                             f"latent_dim -> Transform, got {init_transform_fn!r}")
        super().__init__(model, init_loc_fn, create_plates=create_plates, prefix=prefix)
        self._init_transform_fn = init_transform_fn
        self.transform: torch.distributions.Transform | None = None

    def _setup_latent(self) -> None:
        init = self._init_latent
        transform = self._init_transform_fn(self.latent_dim)
        if not isinstance(transform, torch.distributions.Transform):
            raise ValueError(
                f"{type(self).__name__}: init_transform_fn({self.latent_dim}) returned "
                f"{type(transform).__name__}, not a torch.distributions.Transform")
        if isinstance(transform, torch.nn.Module):
            transform = transform.to(device=init.device, dtype=init.dtype)
        self.transform = transform
        self._module_name = self._param_name("transform")

    def get_transform(self, *args, **kwargs) -> torch.distributions.Transform:
        """The flow mapping :meth:`get_base_dist` (standard Normal) to the guide."""
        self._ensure_setup(args, kwargs)
        transform = self.transform
        if transform is None:
            raise RuntimeError(f"{type(self).__name__}: the flow was not created at set-up")
        if isinstance(transform, torch.nn.Module):
            pyro.module(self._module_name, transform, update_module_params=True)
        return transform

    def get_posterior(self, *args, **kwargs) -> dist.TransformedDistribution:
        """``TransformedDistribution(Normal(0, I), transform)`` over the latent vector."""
        self._ensure_setup(args, kwargs)
        return dist.TransformedDistribution(self.get_base_dist(),
                                            self.get_transform(*args, **kwargs))


class AutoBNAFNormal(AutoNormalizingFlow):
    """:class:`AutoNormalizingFlow` with ``num_transforms`` block neural autoregressive
    flows (:class:`~pyro.distributions.transforms.BlockAutoregressive`, hidden widths
    ``hidden_factors[i] * latent_dim``).

    Example::

        guide = AutoBNAFNormal(model, hidden_factors=[50, 50])

    :param model: the model.
    :param list[int] hidden_factors: hidden layer widths as multiples of ``latent_dim``
        (default ``[8, 8]``).
    :param init_loc_fn: kept for backwards compatibility; as in Pyro it has no effect
        (a warning says so when given).
    :param int num_transforms: number of stacked flows (default 1).
    :param init_transform_kwargs: more keyword arguments of
        :func:`~pyro.distributions.transforms.block_autoregressive` (e.g.
        ``activation``, ``residual``).

    **References**

    [1] N. De Cao, I. Titov, W. Aziz, "Block Neural Autoregressive Flow", UAI 2019.
    """

    def __init__(self, model: Callable, hidden_factors: Sequence[int] = (8, 8),
                 init_loc_fn: Callable | None = None, num_transforms: int = 1,
                 **init_transform_kwargs) -> None:
        num_transforms, base = flow_options(type(self).__name__, num_transforms, init_loc_fn,
                                            init_transform_kwargs)
        fn: Callable[..., Any] = partial(block_autoregressive,
                                         hidden_factors=list(hidden_factors),
                                         **init_transform_kwargs)
        if num_transforms > 1:
            fn = partial(iterated, num_transforms, fn)
        super().__init__(model, fn, **base)
