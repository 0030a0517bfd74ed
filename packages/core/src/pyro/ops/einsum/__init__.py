"""Einsum with a choice of semiring and a greedy pairwise contraction order.

``contract(equation, *operands, backend=...)`` evaluates one einsum ``equation`` with
the backend's sum and product (see :mod:`pyro.ops.rings`):

============================== ==========================================
backend                        semiring
============================== ==========================================
``"torch"``                    sum-product (:func:`torch.einsum` semantics)
``"pyro.ops.einsum.torch_log"``  log-sum-exp
``"pyro.ops.einsum.torch_map"``  max-plus
``"pyro.ops.einsum.torch_sample"``  log-sum-exp, recording eliminations
``"pyro.ops.einsum.torch_marginal"``  log-sum-exp, differentiable to marginals
============================== ==========================================

Operands are joined pairwise in the order of :func:`pyro.ops.rings.greedy_order`, summing
each symbol as soon as no other operand holds it, so a chain of small factors never forms
their joint table.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..contract import label_operands, parse_equation, ring_for, traced_quietly
from ..rings import _dims, align

__all__ = ["contract", "contract_expression"]


def contract(equation: str, *operands: torch.Tensor, **kwargs) -> torch.Tensor:
    """Evaluate ``equation`` (e.g. ``"ab,bc->ac"``) on ``operands``.

    :param str backend: a module name from the table above (default ``"torch"``).
    :param dict cache: optional memo shared between calls (see :class:`~pyro.ops.rings.Ring`).
    :returns: a tensor whose dims follow the output symbols.
    :raises ValueError: when the equation and the operands' shapes disagree.
    """
    backend = kwargs.pop("backend", "torch")
    cache = kwargs.pop("cache", None)
    kwargs.pop("optimize", None)  # the order is always greedy
    if kwargs:
        raise TypeError(f"contract: unexpected keyword arguments {sorted(kwargs)}")
    if "->" not in equation:
        raise ValueError(f"contract: equation {equation!r} needs an explicit output ('->')")
    inputs, outputs = parse_equation(equation, operands)
    if len(outputs) != 1:
        raise ValueError(f"contract: equation {equation!r} must have one output")
    output = outputs[0]
    ring = ring_for(backend, cache)
    terms = label_operands(operands, inputs)
    syms = set().union(*(set(_dims(t)) for t in terms)) if terms else set()
    missing = set(output) - syms
    if missing:
        raise ValueError(f"contract: output symbols {sorted(missing)} are in no operand")
    with traced_quietly():
        result = ring.sumproduct(terms, syms - set(output))
    return align(result, _dims(result), output)


def contract_expression(equation: str, *shapes: Sequence[int], **kwargs) -> Callable:
    """A reusable contraction of ``equation`` for operands of the given ``shapes``: returns
    ``expr(*operands, backend=...)`` (the ``backend`` given here is the default)."""
    default_backend = kwargs.pop("backend", "torch")
    kwargs.pop("optimize", None)
    if kwargs:
        raise TypeError(f"contract_expression: unexpected keyword arguments {sorted(kwargs)}")
    sizes = [tuple(s) for s in shapes]

    def expr(*operands: torch.Tensor, backend: str = default_backend) -> torch.Tensor:
        got = [tuple(x.shape) for x in operands]
        if got != sizes:
            raise ValueError(f"contract_expression({equation!r}): expected shapes {sizes}, "
                             f"got {got}")
        return contract(equation, *operands, backend=backend)

    return expr
