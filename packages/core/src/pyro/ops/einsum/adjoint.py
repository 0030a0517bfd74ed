"""Backward passes through einsum contractions: drawing (or maximizing) the contracted
variables after a forward log-sum-exp (or max-plus) contraction.

Mark the operands whose variables you want with :func:`require_backward`, contract with
the ``torch_sample`` (or ``torch_map``) backend, then call the result's backward::

    x = torch.randn(3, 4); y = torch.randn(4, 5)
    require_backward(x); require_backward(y)
    out = torch_sample.einsum("ab,bc->", x, y)
    out._pyro_backward()
    x._pyro_backward_result   # {"a": index, "b": index}: a draw of x's variables

A sample is a dict ``{symbol: long tensor}`` of positions along each symbol's dim.
Successive contractions chain: an operand that is itself an einsum result passes its
sample on to its own operands, so variables eliminated in different steps are drawn
jointly (backward sampling, last eliminated first).

**References**

[1] F. Obermeyer et al., "Tensor Variable Elimination for Plated Factor Graphs", ICML 2019.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..rings import _dims, align, condition, label, unflatten  # noqa: F401 (re-exported)
from . import contract
from .util import transpose

__all__ = ["Backward", "einsum_backward_sample", "require_backward", "transpose",
           "unflatten"]

Sample = dict[str, torch.Tensor]


class Backward:
    """A node of the backward graph, stored on a tensor as ``_pyro_backward``. Calling it
    runs the backward pass from that tensor down to every leaf marked by
    :func:`require_backward`, which receives ``_pyro_backward_result``."""

    def __call__(self) -> None:
        stack: list = [(self, {})]
        while stack:
            node, message = stack.pop()
            for tensor, child_message in node.process(message):
                child = getattr(tensor, "_pyro_backward", None)
                if child is not None:
                    stack.append((child, child_message))

    def process(self, message: Sample):
        """Yield ``(operand, message)`` pairs for the operands of this node."""
        raise NotImplementedError


class _LeafBackward(Backward):
    def __init__(self, target: torch.Tensor) -> None:
        self.target = target

    def process(self, message: Sample):
        self.target._pyro_backward_result = message  # type: ignore[attr-defined]
        return ()


def require_backward(tensor: torch.Tensor) -> None:
    """Mark ``tensor`` (an einsum operand) to receive a backward sample of its variables in
    ``tensor._pyro_backward_result`` (any earlier result is cleared)."""
    tensor._pyro_backward = _LeafBackward(tensor)  # type: ignore[attr-defined]
    tensor._pyro_backward_result = None  # type: ignore[attr-defined]


def einsum_backward_sample(operands: Sequence[torch.Tensor], sample1: Sample | None,
                           sample2: Sample) -> list[Sample]:
    """Split a joint sample among the operands of a contraction: ``sample1`` holds the
    values given for the output symbols (from further down the backward pass), ``sample2``
    those just drawn for the contracted symbols. Each operand gets the entries for the
    symbols it holds (``_pyro_dims``).

    :raises ValueError: when the two samples give one symbol.
    """
    sample1 = sample1 or {}
    both = set(sample1) & set(sample2)
    if both:
        raise ValueError(f"einsum_backward_sample: symbols {sorted(both)} are in both samples")
    joint = {**sample1, **sample2}
    return [{s: joint[s] for s in _dims(x) if s in joint} for x in operands]


class _EinsumBackward(Backward):
    """Draw the contracted symbols of one contraction given its output's sample."""

    def __init__(self, operands: Sequence[torch.Tensor], output: str, choose) -> None:
        self.operands = list(operands)
        self.output = output
        self.choose = choose  # (batch, flat) logits -> batch of flat positions

    def process(self, message: Sample):
        target = "".join(dict.fromkeys("".join(_dims(x) for x in self.operands)))
        aligned = [align(x.detach(), _dims(x), target) for x in self.operands]
        joint = aligned[0]
        for t in aligned[1:]:
            joint = joint + t
        contract = "".join(s for s in target if s not in self.output)
        # condition on the output's sample: index each given symbol at its value
        table, dims = joint, target
        for sym, value in message.items():
            if sym in dims:
                table, dims = condition(table, dims, sym, value)
        batch = "".join(s for s in dims if s not in contract)
        table = align(table, dims, batch + contract)
        shape = table.shape[len(batch):]
        flat = table.reshape(table.shape[: len(batch)] + (-1,))
        drawn = unflatten(self.choose(flat), batch, contract, shape)
        yield from zip(self.operands, einsum_backward_sample(self.operands, message, drawn))


def attach(result: torch.Tensor, operands: Sequence[torch.Tensor], output: str,
           choose) -> torch.Tensor:
    """Give ``result`` a backward node when an operand asks for a backward pass."""
    if any(getattr(x, "_pyro_backward", None) is not None for x in operands):
        result._pyro_backward = _EinsumBackward(operands, output, choose)  # type: ignore[attr-defined]
    return result



def semiring_einsum(backend: str, choose: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    """The ``einsum`` of the backend module ``backend`` whose backward pass draws the
    contracted variables with ``choose`` (flat logits -> indices): argmax for max-plus,
    a categorical draw for sampling. Shared by those two backends."""

    def einsum(equation: str, *operands: torch.Tensor) -> torch.Tensor:
        """Evaluate ``equation`` in this module's semiring (see the module docstring). When
        an operand was marked by :func:`~pyro.ops.einsum.adjoint.require_backward`, the
        result gets a ``_pyro_backward`` node drawing the contracted variables."""
        result = contract(equation, *operands, backend=backend)
        inputs, output = equation.replace(" ", "").split("->")
        for x, dims in zip(operands, inputs.split(",")):
            label(x, dims)
        return attach(result, operands, output, choose)

    einsum.__module__ = backend
    return einsum
