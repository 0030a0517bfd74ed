"""Fully connected networks that output several parameters: :class:`DenseNN` and
:class:`ConditionalDenseNN` (used by coupling flows, conditional flows and amortized guides)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._context import concat_context
from ._dims import check_dim, check_dims
from ._outputs import split_dense_params

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
        param_dims: int | Sequence[int] = (1, 1),
        nonlinearity: nn.Module | None = None,
    ) -> None:
        super().__init__()
        net = type(self).__name__
        self.input_dim = check_dim(input_dim, f"{net} input_dim")
        self.context_dim = check_dim(context_dim, f"{net} context_dim", minimum=0)
        self.hidden_dims = check_dims(hidden_dims, f"{net} hidden_dims")
        self.param_dims = check_dims(param_dims, f"{net} param_dims", allow_empty=False)
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
        param_dims: int | Sequence[int] = (1, 1),
        nonlinearity: nn.Module | None = None,
    ) -> None:
        super().__init__(input_dim, 0, hidden_dims, param_dims, nonlinearity)

    # Pyro's signature: the unconditional network takes no context
    def forward(  # type: ignore[override]
        self, x: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Evaluate on ``x`` of shape ``batch + (input_dim,)``."""
        return super().forward(x)
