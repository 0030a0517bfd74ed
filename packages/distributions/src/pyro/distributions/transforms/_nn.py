"""What the flows need from pyro-nn (imported only when a helper builds a network, since
pyro-nn depends on pyro-distributions) and a network bound to a fixed context."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import torch
from torch import nn

from .. import constraints
from ..conditional import ConditionalTransformModule


def pyro_nn(name: str, helper: str) -> Any:
    """``pyro.nn.<name>``, or an ImportError saying what to install.

    :param name: the network class, e.g. ``"DenseNN"``.
    :param helper: the calling helper function, for the message.
    """
    try:
        import pyro.nn as pyro_nn_module
    except ImportError as e:  # pragma: no cover - depends on the installed packages
        raise ImportError(
            f"{helper} builds a pyro.nn.{name}: `pip install pyro-nn`, or construct the "
            f"transform class directly with your own network"
        ) from e
    return getattr(pyro_nn_module, name)


def default_hidden(hidden_dims, width: int, layers: int) -> list[int]:
    """``hidden_dims`` as a list, or ``layers`` layers of ``width`` units when ``None``."""
    if hidden_dims is None:
        return [width] * layers
    if isinstance(hidden_dims, int):
        return [hidden_dims]
    return list(hidden_dims)


def make_network(name: str, helper: str, *dims: int, hidden_dims: Sequence[int] | int | None,
                 width: int, layers: int, param_dims: list[int]) -> Any:
    """The network of a helper function: ``pyro.nn.<name>(*dims, hidden, param_dims=...)``,
    ``hidden`` being ``hidden_dims`` or ``layers`` layers of ``width`` units (see
    :func:`default_hidden`).

    :param name: e.g. ``"DenseNN"`` or ``"ConditionalAutoRegressiveNN"``.
    :param helper: the calling helper function, for the ImportError message.
    :param dims: the network's leading sizes (``input_dim``, then ``context_dim`` for the
        conditional autoregressive networks; ``context_dim`` for a ``DenseNN`` on a context).
    :returns: the ``pyro.nn`` module (typed ``Any``: pyro-nn sits above this package).
    """
    net = pyro_nn(name, helper)
    return net(*dims, default_hidden(hidden_dims, width, layers), param_dims=param_dims)


def get_params(params: Callable[[], Any] | torch.Tensor | tuple | None) -> Any:
    """The parameters of a conditioned transform: ``params()`` when callable (a network
    evaluated on a context, or a module's own parameters) else ``params`` itself."""
    return params() if callable(params) else params


class ContextNetwork(Protocol):
    """A network of an input and a context, e.g. ``pyro.nn.ConditionalDenseNN``."""

    def __call__(self, x: torch.Tensor, context: torch.Tensor) -> Any: ...


class ContextAutoregressiveNetwork(ContextNetwork, Protocol):
    """An autoregressive network of an input and a context, e.g.
    ``pyro.nn.ConditionalAutoRegressiveNN``: its outputs for input ``i`` depend on the
    inputs before ``i`` in ``permutation`` order."""

    permutation: torch.Tensor

    def get_permutation(self) -> torch.Tensor: ...


class ContextBoundNN(nn.Module):
    """``x -> net(x, context)`` for a fixed ``context``, sharing ``net``'s parameters (so a
    conditional network can drive an unconditional flow)."""

    net: ContextNetwork

    def __init__(self, net: ContextNetwork, context: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.context = context

    @property
    def permutation(self) -> torch.Tensor:
        """The input order of the wrapped network (an autoregressive one)."""
        return cast(ContextAutoregressiveNetwork, self.net).permutation

    def get_permutation(self) -> torch.Tensor:
        return cast(ContextAutoregressiveNetwork, self.net).get_permutation()

    def forward(self, x: torch.Tensor):
        return self.net(x, self.context)


class ContextCall:
    """``ContextCall(net, context)() == net(context)``: lazily evaluated parameters of a
    transform conditioned on ``context``."""

    __slots__ = ("net", "context")

    def __init__(self, net: Callable, context: torch.Tensor) -> None:
        self.net = net
        self.context = context

    def __call__(self):
        return self.net(self.context)


class ContextVectorFlow(ConditionalTransformModule):
    """A conditional flow on real vectors whose parameters are the output of a network
    ``nn`` on the context: ``condition(context)`` is ``conditioned(ContextCall(nn,
    context))``, with ``conditioned`` the subclass's transform class taking lazily
    evaluated parameters (e.g. :class:`~pyro.distributions.transforms.ConditionedPlanar`)."""

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True
    conditioned: type

    def __init__(self, nn: Callable) -> None:
        super().__init__()
        self.nn = nn

    def condition(self, context: torch.Tensor):
        return self.conditioned(ContextCall(self.nn, context))


class ContextBoundFlow(ConditionalTransformModule):
    """A conditional flow whose network also reads the context: ``condition(context)`` is
    ``conditioned(*leading_args, ContextBoundNN(nn, context), **kwargs)``, the subclass's
    unconditional flow with the network's context fixed (``leading_args``: what the
    unconditional flow takes before its network, e.g. ``split_dim``)."""

    bijective = True
    conditioned: Callable[..., Any]

    def __init__(self, nn: ContextNetwork, *leading_args: int, **kwargs) -> None:
        super().__init__()
        self.nn = nn
        self._leading_args = leading_args
        self.kwargs = kwargs

    def condition(self, context: torch.Tensor):
        """The transform for ``context`` (shape ``batch' + (context_dim,)``)."""
        return self.conditioned(*self._leading_args, ContextBoundNN(self.nn, context),
                                **self.kwargs)


class ContextAutoregressiveFlow(ContextBoundFlow):
    """A :class:`ContextBoundFlow` on real vectors driven by an autoregressive network."""

    domain = constraints.real_vector
    codomain = constraints.real_vector
