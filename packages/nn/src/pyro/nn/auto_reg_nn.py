"""Masked autoregressive networks: :class:`MaskedLinear`, :class:`AutoRegressiveNN` (MADE) and
:class:`ConditionalAutoRegressiveNN`, with the mask construction they use.

Degrees (the ``m(k)`` of the MADE paper) are 1-based: the input ``permutation[k]`` has degree
``k + 1``, context inputs have degree 0, hidden units have degrees in ``{1, ..., input_dim - 1}``.
A hidden unit of degree ``m`` sees the inputs (and hidden units of the layer below) of degree
``<= m``; an output of degree ``d`` sees the hidden units of degree ``< d`` (and, with skip
connections, the inputs of degree ``< d``). Hence output ``permutation[k]`` depends only on the
inputs ``permutation[0], ..., permutation[k - 1]`` (and on the context).

**References**

[1] MADE: Masked Autoencoder for Distribution Estimation. Mathieu Germain, Karol Gregor,
    Iain Murray, Hugo Larochelle. ICML 2015, arXiv:1502.03509.
"""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._context import concat_context
from ._dims import check_dim, check_dims
from ._outputs import split_params

__all__ = [
    "AutoRegressiveNN",
    "ConditionalAutoRegressiveNN",
    "MaskedLinear",
    "create_mask",
    "sample_mask_indices",
]


class MaskedLinear(nn.Linear):
    """A linear map whose weight is multiplied elementwise by a fixed 0/1 mask:
    ``y = (weight * mask) @ x + bias``.

    Masked-out weights never influence the output and receive exactly zero gradient.

    :param int in_features: size of the last dimension of the input.
    :param int out_features: size of the last dimension of the output.
    :param torch.Tensor mask: tensor of shape ``(out_features, in_features)`` (the shape of
        ``weight``) with entries 0 or 1. It is stored as a buffer, so it follows the module
        across ``.to(device)`` and ``.double()``.
    :param bool bias: whether the layer has an (unmasked) bias. Default ``True``.
    :raises ValueError: if ``mask`` does not have shape ``(out_features, in_features)``.

    Input shape ``batch_shape + (in_features,)``, output ``batch_shape + (out_features,)``.
    """

    mask: torch.Tensor  # a registered buffer

    def __init__(
        self, in_features: int, out_features: int, mask: torch.Tensor, bias: bool = True
    ) -> None:
        super().__init__(in_features, out_features, bias=bias)
        mask = torch.as_tensor(mask)
        if tuple(mask.shape) != (out_features, in_features):
            raise ValueError(
                f"MaskedLinear mask must have shape (out_features, in_features) = "
                f"({out_features}, {in_features}), the shape of the weight; got "
                f"{tuple(mask.shape)}"
            )
        self.register_buffer(
            "mask", mask.to(dtype=self.weight.dtype, device=self.weight.device)
        )

    def forward(self, _input: torch.Tensor) -> torch.Tensor:
        """Return ``(weight * mask) @ _input + bias`` over the last dimension."""
        return F.linear(_input, self.weight * self.mask, self.bias)


def sample_mask_indices(
    input_dim: int, hidden_dim: int, simple: bool = True, device: torch.device | None = None
) -> torch.Tensor:
    """Degrees ``m(k)`` of the ``hidden_dim`` units of one hidden layer of a MADE network.

    :param int input_dim: number of autoregressive inputs ``D``.
    :param int hidden_dim: number of hidden units ``H``.
    :param bool simple: ``True`` (default) spreads the degrees ``1, ..., D - 1`` evenly and
        deterministically over the units (every degree occurs when ``H >= D - 1``);
        ``False`` draws each degree uniformly from ``{1, ..., D - 1}`` as in [1] section 4.
    :param device: device of the result.
    :returns: ``LongTensor`` of shape ``(H,)``. When ``D == 1`` every degree is 0 (such units
        see no input: a one-dimensional autoregressive output is a learned constant).
    :raises ValueError: if ``input_dim`` or ``hidden_dim`` is not a positive integer.

    **References**

    [1] MADE: Masked Autoencoder for Distribution Estimation, arXiv:1502.03509.
    """
    if int(input_dim) < 1 or int(hidden_dim) < 1:
        raise ValueError(
            f"sample_mask_indices needs input_dim >= 1 and hidden_dim >= 1; got "
            f"input_dim={input_dim}, hidden_dim={hidden_dim}"
        )
    if input_dim == 1:
        return torch.zeros(hidden_dim, dtype=torch.long, device=device)
    if simple:
        return 1 + torch.arange(hidden_dim, device=device) * (input_dim - 1) // hidden_dim
    return torch.randint(1, input_dim, (hidden_dim,), device=device)


def default_hidden_degrees(
    input_dim: int, context_dim: int, hidden_dims: Sequence[int],
    device: torch.device | None = None,
) -> list[torch.Tensor]:
    """Pyro's default degrees of the hidden units of a MADE network, one ``LongTensor`` of
    shape ``(H_l,)`` per hidden layer: ``H`` evenly spaced points from 1 to ``D - 1``
    rounded to the nearest integer (halves to even, ``torch.round``); with a context, from 1
    to ``D``, rounded, minus 1, so that degree-0 units see only the context and the first
    output in the order depends on it too. Pyro 1.9 builds its masks from these degrees, so
    the same permutation gives the same network (and, for a seed, the same flow)."""
    shift = 1 if context_dim else 0
    return [
        torch.linspace(1, input_dim - 1 + shift, h, device=device).round().long() - shift
        for h in hidden_dims
    ]


def _input_degrees(permutation: torch.Tensor) -> torch.Tensor:
    """Degree of each input: ``degree[permutation[k]] = k + 1``."""
    degrees = torch.empty_like(permutation)
    degrees[permutation] = torch.arange(1, permutation.numel() + 1, device=permutation.device)
    return degrees


def create_mask(
    input_dim: int,
    context_dim: int,
    hidden_dims: Sequence[int],
    permutation: torch.Tensor,
    output_dim_multiplier: int,
    hidden_degrees: Sequence[torch.Tensor] | None = None,
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Masks of a MADE network with inputs ``[context, x]``.

    :param int input_dim: dimension ``D`` of the autoregressive input ``x``.
    :param int context_dim: dimension ``C`` of the context (0 for none); context inputs feed
        every hidden unit.
    :param hidden_dims: widths ``H_1, ..., H_L`` of the hidden layers (``L >= 1``).
    :param torch.LongTensor permutation: order of the autoregression, shape ``(D,)``.
    :param int output_dim_multiplier: number ``M`` of outputs per input dimension; output row
        ``j * D + i`` belongs to input dimension ``i``.
    :param hidden_degrees: optional degrees of each hidden layer (shapes ``(H_l,)``), by
        default :func:`default_hidden_degrees` (evenly spread over ``{1, ..., D - 1}``, or
        ``{0, ..., D - 1}`` when ``context_dim > 0``: degree-0 units see only the context).
    :returns: ``(masks, mask_skip)``: ``masks`` has shapes ``(H_1, C + D)``,
        ``(H_2, H_1)``, ..., ``(M * D, H_L)``; ``mask_skip`` (the direct input-to-output
        connections) has shape ``(M * D, C + D)``. Float tensors of 0/1.
    """
    if hidden_degrees is None:
        hidden_degrees = default_hidden_degrees(input_dim, context_dim, hidden_dims,
                                                device=permutation.device)
    in_deg = _input_degrees(permutation)
    in_deg = torch.cat([in_deg.new_zeros(context_dim), in_deg])
    out_deg = _input_degrees(permutation).repeat(output_dim_multiplier)
    masks = [(hidden_degrees[0].unsqueeze(-1) >= in_deg).float()]
    for below, above in zip(hidden_degrees[:-1], hidden_degrees[1:]):
        masks.append((above.unsqueeze(-1) >= below).float())
    masks.append((out_deg.unsqueeze(-1) > hidden_degrees[-1]).float())
    mask_skip = (out_deg.unsqueeze(-1) > in_deg).float()
    return masks, mask_skip


class ConditionalAutoRegressiveNN(nn.Module):
    """A MADE network ``(x, context) -> params`` whose output for dimension
    ``permutation[k]`` depends only on ``x[permutation[:k]]`` and on ``context``.

    :param int input_dim: dimension ``D`` of the input ``x``.
    :param int context_dim: dimension ``C`` of the context.
    :param hidden_dims: list of hidden-layer widths (an int means one hidden layer). Widths
        below ``D`` leave some autoregressive connections out (a warning says so).
    :param param_dims: sizes of the parameters produced per input dimension, default
        ``[1, 1]`` (e.g. a location and a log-scale). See :meth:`forward` for shapes.
    :param torch.LongTensor permutation: order of the autoregression, shape ``(D,)``; a
        random permutation when ``None``.
    :param bool skip_connections: add direct (masked) input-to-output connections.
    :param torch.nn.Module nonlinearity: activation between layers, default ``nn.ReLU()``.
    :param mask_encoding: degrees of the hidden units, a ``LongTensor`` of shape ``(H,)`` for
        a single hidden layer or a sequence with one per layer, entries in
        ``{1, ..., D - 1}`` (``{0, ..., D - 1}`` with a context: degree-0 units see only the
        context, which lets the first output in the order depend on it); evenly spread by
        default (:func:`sample_mask_indices`).
    :raises ValueError: on a permutation that is not a permutation of ``range(D)``, bad
        widths, or a mask encoding of the wrong shape or range.

    **References**

    [1] MADE: Masked Autoencoder for Distribution Estimation. Mathieu Germain, Karol Gregor,
        Iain Murray, Hugo Larochelle. arXiv:1502.03509.
    """

    permutation: torch.Tensor  # a registered buffer

    def __init__(
        self,
        input_dim: int,
        context_dim: int,
        hidden_dims: int | Sequence[int],
        param_dims: int | Sequence[int] = (1, 1),
        permutation: torch.Tensor | None = None,
        skip_connections: bool = False,
        nonlinearity: nn.Module | None = None,
        mask_encoding: torch.Tensor | Sequence[torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        net = type(self).__name__
        self.input_dim = check_dim(input_dim, f"{net} input_dim")
        self.context_dim = check_dim(context_dim, f"{net} context_dim", minimum=0)
        # MADE needs a hidden layer: the masks route each output through hidden degrees
        self.hidden_dims = check_dims(hidden_dims, f"{net} hidden_dims", allow_empty=False)
        if self.input_dim > 1 and any(h < self.input_dim - 1 for h in self.hidden_dims):
            warnings.warn(
                f"AutoRegressiveNN hidden widths {self.hidden_dims} are below input_dim - 1 = "
                f"{self.input_dim - 1}: some outputs will not depend on all earlier inputs. "
                f"Use hidden widths >= input_dim.",
                stacklevel=2,
            )
        self.param_dims = check_dims(param_dims, f"{net} param_dims", allow_empty=False)
        self.output_multiplier = sum(self.param_dims)
        self.skip_connections = bool(skip_connections)

        if permutation is None:
            permutation = torch.randperm(self.input_dim)
        permutation = torch.as_tensor(permutation).long()
        if tuple(permutation.shape) != (self.input_dim,) or not torch.equal(
            permutation.sort().values, torch.arange(self.input_dim, device=permutation.device)
        ):
            raise ValueError(
                f"permutation must be a permutation of range({self.input_dim}); got "
                f"{permutation.tolist()}"
            )
        self.register_buffer("permutation", permutation)

        degrees = self._hidden_degrees(mask_encoding)
        masks, mask_skip = create_mask(
            self.input_dim, self.context_dim, self.hidden_dims, permutation,
            self.output_multiplier, hidden_degrees=degrees,
        )
        for i, d in enumerate(degrees):
            # derived data, kept out of the state dict so that Pyro's checkpoints (which hold
            # the masks and the permutation) load strictly
            self.register_buffer(f"mask_encoding_{i}", d, persistent=False)
        widths = [self.context_dim + self.input_dim] + self.hidden_dims
        widths.append(self.input_dim * self.output_multiplier)
        self.layers = nn.ModuleList(
            MaskedLinear(widths[i], widths[i + 1], masks[i]) for i in range(len(masks))
        )
        self.skip_layer = (
            MaskedLinear(widths[0], widths[-1], mask_skip, bias=False)
            if self.skip_connections
            else None
        )
        self.f = nn.ReLU() if nonlinearity is None else nonlinearity

    def _hidden_degrees(self, mask_encoding) -> list[torch.Tensor]:
        if mask_encoding is None:
            return default_hidden_degrees(self.input_dim, self.context_dim, self.hidden_dims)
        if isinstance(mask_encoding, torch.Tensor):
            mask_encoding = [mask_encoding]
        mask_encoding = [torch.as_tensor(m).long() for m in mask_encoding]
        if len(mask_encoding) != len(self.hidden_dims):
            raise ValueError(
                f"mask_encoding gives degrees for {len(mask_encoding)} hidden layers but "
                f"hidden_dims={self.hidden_dims} has {len(self.hidden_dims)}"
            )
        low = 0 if (self.input_dim == 1 or self.context_dim) else 1
        for m, h in zip(mask_encoding, self.hidden_dims):
            if tuple(m.shape) != (h,):
                raise ValueError(
                    f"mask_encoding for a hidden layer of width {h} must have shape ({h},); "
                    f"got {tuple(m.shape)}"
                )
            if m.numel() and (m.min() < low or m.max() > max(self.input_dim - 1, low)):
                raise ValueError(
                    f"mask_encoding entries must lie in {{{low}, ..., "
                    f"{max(self.input_dim - 1, low)}}}; got {m.tolist()}"
                )
        return mask_encoding

    def get_permutation(self) -> torch.Tensor:
        """The order of the autoregression: output ``permutation[k]`` depends on the inputs
        ``permutation[:k]``. ``LongTensor`` of shape ``(input_dim,)``."""
        return self.permutation

    def get_mask_encoding(self) -> torch.Tensor | list[torch.Tensor]:
        """The degrees ``m(k)`` of the hidden units ([1] section 4): a ``LongTensor`` of shape
        ``(H,)`` for a single hidden layer (Pyro 0.1's network), a list with one per layer
        otherwise."""
        degrees = [getattr(self, f"mask_encoding_{i}") for i in range(len(self.hidden_dims))]
        return degrees[0] if len(degrees) == 1 else degrees

    def forward(
        self, inputs: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Evaluate the network.

        :param torch.Tensor inputs: shape ``batch_shape + (input_dim,)``.
        :param torch.Tensor context: shape ``batch_shape' + (context_dim,)``, broadcast with
            ``batch_shape`` (required iff ``context_dim > 0``).
        :returns: with ``param_dims == [p]``: one tensor of shape ``batch + (input_dim,)``
            when ``p == 1`` else ``batch + (p, input_dim)``; with several ``param_dims``: a
            tuple with one tensor per entry, ``batch + (input_dim,)`` for an entry 1 and
            ``batch + (p, input_dim)`` for an entry ``p > 1``.
        :raises ValueError: on a wrong last dimension or a missing context.
        """
        x = concat_context(type(self).__name__, inputs, context, self.input_dim,
                           self.context_dim, arg="inputs")
        h = x
        for layer in self.layers[:-1]:
            h = self.f(layer(h))
        h = self.layers[-1](h)
        if self.skip_layer is not None:
            h = h + self.skip_layer(x)
        return split_params(h, self.param_dims, self.input_dim)


class AutoRegressiveNN(ConditionalAutoRegressiveNN):
    """A MADE network ``x -> params`` whose output for dimension ``permutation[k]`` depends
    only on ``x[permutation[:k]]`` (so its Jacobian, rows and columns reordered by the
    permutation, is strictly lower triangular).

    Modern signature::

        AutoRegressiveNN(input_dim, hidden_dims, param_dims=[1, 1], permutation=None,
                         skip_connections=False, nonlinearity=nn.ReLU())

    Pyro 0.1's signature, still accepted::

        AutoRegressiveNN(input_dim, hidden_dim, output_dim_multiplier=1, mask_encoding=None,
                         permutation=None)

    The Pyro 0.1 form is recognised by an integer third positional argument (then the fourth and
    fifth positional arguments are ``mask_encoding`` and ``permutation``), by the
    ``output_dim_multiplier`` keyword, or by an integer ``hidden_dim`` with no ``param_dims``;
    ``output_dim_multiplier=M`` is ``param_dims=[M]``: one output of shape
    ``batch + (input_dim,)`` for ``M == 1`` and ``batch + (M, input_dim)`` otherwise, the
    slices ``[..., j, :]`` sharing the autoregressive structure.

    :param int input_dim: dimension ``D`` of the input.
    :param hidden_dims: list of hidden widths (or an int: one hidden layer).
    :param param_dims: parameter sizes per input dimension, default ``[1, 1]``.
    :param torch.LongTensor permutation: order of the autoregression; random when ``None``.
    :param bool skip_connections: add masked direct input-to-output connections.
    :param torch.nn.Module nonlinearity: activation, default ``nn.ReLU()``.
    :param int output_dim_multiplier: Pyro 0.1 spelling of ``param_dims=[output_dim_multiplier]``.
    :param mask_encoding: hidden-unit degrees (see :class:`ConditionalAutoRegressiveNN`).

    Input ``batch_shape + (D,)``; outputs as in :meth:`ConditionalAutoRegressiveNN.forward`.

    **References**

    [1] MADE: Masked Autoencoder for Distribution Estimation. Mathieu Germain, Karol Gregor,
        Iain Murray, Hugo Larochelle. arXiv:1502.03509.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dims: int | Sequence[int],
        param_dims: int | Sequence[int] | None = None,
        permutation: torch.Tensor | None = None,
        skip_connections: bool = False,
        nonlinearity: nn.Module | None = None,
        *,
        output_dim_multiplier: int | None = None,
        mask_encoding: torch.Tensor | Sequence[torch.Tensor] | None = None,
    ) -> None:
        if isinstance(param_dims, numbers.Integral) and not isinstance(param_dims, bool):
            # Pyro 0.1 positional order: (input_dim, hidden_dim, output_dim_multiplier,
            # mask_encoding, permutation)
            if output_dim_multiplier is not None:
                raise ValueError("output_dim_multiplier was given twice")
            output_dim_multiplier = int(param_dims)
            param_dims = None
            if permutation is not None:
                if mask_encoding is not None:
                    raise ValueError("mask_encoding was given twice")
                mask_encoding, permutation = permutation, None
            if not isinstance(skip_connections, bool):
                permutation, skip_connections = skip_connections, False
        if output_dim_multiplier is not None:
            if param_dims is not None:
                raise ValueError(
                    "give either param_dims (modern) or output_dim_multiplier (Pyro 0.1), not both"
                )
            param_dims = [check_dim(output_dim_multiplier, "output_dim_multiplier")]
        elif param_dims is None:
            param_dims = [1] if isinstance(hidden_dims, numbers.Integral) else [1, 1]
        super().__init__(
            input_dim, 0, hidden_dims, param_dims=param_dims, permutation=permutation,
            skip_connections=skip_connections, nonlinearity=nonlinearity,
            mask_encoding=mask_encoding,
        )

    # Pyro's signature: the unconditional network takes no context
    def forward(  # type: ignore[override]
        self, inputs: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Evaluate the network on ``inputs`` of shape ``batch_shape + (input_dim,)``; see
        :meth:`ConditionalAutoRegressiveNN.forward` for the output shapes."""
        return super().forward(inputs)
