"""Fully connected networks that output several parameters: :class:`DenseNN` and
:class:`ConditionalDenseNN` (used by coupling flows, conditional flows and amortized guides)."""
from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

from ._context import concat_context
from ._outputs import normalize_param_dims, split_dense_params

__all__ = ["ConditionalDenseNN", "DenseNN"]


class ConditionalDenseNN(nn.Module):
    """A multilayer perceptron ``(x, context) -> params`` on the concatenation
    ``[context, x]``.

    :param int input_dim: dimension of ``x``.
    :param int context_dim: dimension of the context (0 for none).
    :param hidden_dims: list of hidden widths (an int means one hidden layer; ``[]`` gives a
        single affine map).
    :param param_dims: sizes of the parameters produced, default ``[1, 1]``.
    :param torch.nn.Module nonlinearity: activation between layers, default ``nn.ReLU()``.
    :raises ValueError: on non-positive dimensions.

    :meth:`forward` returns, for inputs of shape ``batch + (input_dim,)``, one tensor of shape
    ``batch + (p,)`` when ``param_dims == [p]`` and otherwise a tuple with one
    ``batch + (p_i,)`` tensor per entry.
    """

    def __init__(
        self,
        input_dim: int,
        context_dim: int,
        hidden_dims: int | Sequence[int],
        param_dims: Sequence[int] = (1, 1),
        nonlinearity: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if isinstance(hidden_dims, numbers.Integral):
            hidden_dims = [hidden_dims]
        dims = [input_dim, context_dim, *hidden_dims]
        if any(isinstance(d, bool) or not isinstance(d, numbers.Integral) for d in dims) or (
            input_dim < 1 or context_dim < 0 or any(h < 1 for h in hidden_dims)
        ):
            raise ValueError(
                f"{type(self).__name__} needs input_dim >= 1, context_dim >= 0 and positive "
                f"hidden widths; got input_dim={input_dim!r}, context_dim={context_dim!r}, "
                f"hidden_dims={list(hidden_dims)!r}"
            )
        self.input_dim = int(input_dim)
        self.context_dim = int(context_dim)
        self.hidden_dims = [int(h) for h in hidden_dims]
        self.param_dims = normalize_param_dims(param_dims)
        self.output_multiplier = sum(self.param_dims)
        widths = [self.input_dim + self.context_dim, *self.hidden_dims, self.output_multiplier]
        self.layers = nn.ModuleList(
            nn.Linear(widths[i], widths[i + 1]) for i in range(len(widths) - 1)
        )
        self.f = nn.ReLU() if nonlinearity is None else nonlinearity

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Evaluate on ``x`` (``batch + (input_dim,)``) and ``context``
        (``batch' + (context_dim,)``, broadcast with ``batch``)."""
        h = concat_context(type(self).__name__, x, context, self.input_dim, self.context_dim)
        for layer in self.layers[:-1]:
            h = self.f(layer(h))
        return split_dense_params(self.layers[-1](h), self.param_dims)


class DenseNN(ConditionalDenseNN):
    """A multilayer perceptron ``x -> params``.

    :param int input_dim: dimension of the input.
    :param hidden_dims: list of hidden widths.
    :param param_dims: sizes of the parameters produced, default ``[1, 1]``.
    :param torch.nn.Module nonlinearity: activation, default ``nn.ReLU()``.

    Input ``batch + (input_dim,)``; output ``batch + (p,)`` for ``param_dims == [p]``, else a
    tuple of ``batch + (p_i,)`` tensors.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dims: int | Sequence[int],
        param_dims: Sequence[int] = (1, 1),
        nonlinearity: nn.Module | None = None,
    ) -> None:
        super().__init__(input_dim, 0, hidden_dims, param_dims, nonlinearity)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Evaluate on ``x`` of shape ``batch + (input_dim,)``."""
        return super().forward(x)
