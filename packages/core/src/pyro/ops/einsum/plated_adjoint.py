"""Backward passes of plated einsum (:func:`pyro.ops.contract.einsum`) for the operands
marked by :func:`~pyro.ops.einsum.adjoint.require_backward`, as in Pyro's
``examples/einsum.py``::

    for x in operands:
        require_backward(x)
    results = einsum(equation, *operands, plates="ij", backend="pyro.ops.einsum.torch_sample")
    for result in results:
        result._pyro_backward()
    x._pyro_backward_result  # for each marked operand x

What an operand receives, by backend:

- ``torch_sample`` / ``torch_map``: a draw (or the most probable value) of the variables it
  holds, drawn jointly over the whole contraction: a long tensor of shape
  ``(num_variables,) + plate_shape``, each index expanded over the operand's plates
  (``_pyro_dims`` names those plates). The variables come in Pyro's order: those eliminated
  inside more plates first, then by name (``"ab"`` under no plate gives ``[a, b]``; in
  ``"a,abi->"`` with plate ``i`` the second operand gets ``[b, a]``);
- ``torch_marginal``: its unnormalized log marginal, ``log sum exp`` of the contracted log
  joint over every variable it does not hold (the operand's shape; constant along its
  plates for variables outside them), i.e. ``log p(its variables | ...) + log Z``.

**References**

[1] F. Obermeyer et al., "Tensor Variable Elimination for Plated Factor Graphs", ICML 2019.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..rings import MarginalRing, _BackwardRing, _dims, align
from .adjoint import Backward

__all__ = ["PlatedBackward", "variable_homes", "wants_backward"]


def wants_backward(ring, operands: Sequence[torch.Tensor]) -> bool:
    """Whether a plated contraction in ``ring`` must give its results a backward pass: an
    operand was marked by ``require_backward`` and the backend has one."""
    return isinstance(ring, (_BackwardRing, MarginalRing)) and any(
        getattr(x, "_pyro_backward", None) is not None for x in operands)


def variable_homes(inputs: Sequence[str], plates: str) -> dict[str, frozenset]:
    """The plates of each variable's home: those of every operand that holds it (where
    tensor variable elimination sums it out)."""
    homes: dict[str, frozenset] = {}
    for dims in inputs:
        here = frozenset(s for s in dims if s in plates)
        for s in dims:
            if s not in plates:
                homes[s] = homes[s] & here if s in homes else here
    return homes


class PlatedBackward(Backward):
    """The backward node of one result of a plated contraction.

    :param ring: the contraction's ring (its tape, for sampling and MAP).
    :param marked: ``(operand, dims, leaf)`` for each marked operand: its symbols and, for
        marginals, the detached leaf the contraction used in its place.
    :param str plates: the plate symbols.
    :param torch.Tensor result: the contraction's result (for marginals: ``log Z``).
    """

    def __init__(self, ring, marked: list[tuple[torch.Tensor, str, torch.Tensor]],
                 plates: str, result: torch.Tensor, inputs: Sequence[str] = ()) -> None:
        self.ring = ring
        self.marked = marked
        self.plates = plates
        self.result = result
        self.homes = variable_homes(inputs, plates)

    def process(self, message):
        if isinstance(self.ring, MarginalRing):
            self._marginals()
        else:
            self._values()
        return ()

    def _values(self) -> None:
        values = self.ring.backward()
        for x, dims, _ in self.marked:
            plates = "".join(s for s in dims if s in self.plates)
            plate_shape = [n for s, n in zip(dims, x.shape) if s in self.plates]
            indices = []
            variables = sorted((s for s in dims if s not in self.plates),
                               key=lambda s: (-len(self.homes.get(s, ())), s))
            for s in variables:
                if s not in values:
                    raise ValueError(
                        f"einsum backward: variable {s!r} of an operand labelled {dims!r} is "
                        f"kept in the output, so it is not drawn; sum it out (leave it out "
                        f"of the output) to get a value for it")
                v = values[s]
                indices.append(align(v, _dims(v), plates).expand(plate_shape))
            out = (torch.stack(indices) if indices
                   else torch.zeros((0, *plate_shape), dtype=torch.long, device=x.device))
            out._pyro_dims = plates  # type: ignore[attr-defined]  # (the stacked dim is not)
            x._pyro_backward_result = out  # type: ignore[attr-defined]

    def _marginals(self) -> None:
        log_z = self.result
        if log_z.dim():
            log_z = log_z.logsumexp(tuple(range(log_z.dim())))
        leaves = [leaf for _, _, leaf in self.marked]
        with torch.enable_grad():
            grads = torch.autograd.grad(log_z, leaves, allow_unused=True, retain_graph=True)
        total = log_z.detach()
        for (x, _, leaf), g in zip(self.marked, grads):
            g = torch.zeros_like(leaf) if g is None else g
            x._pyro_backward_result = g.log() + total  # type: ignore[attr-defined]
