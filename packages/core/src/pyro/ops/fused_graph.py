"""A value and its gradients as one recorded graph of aten operations, replayed without
Python.

Running a Pyro program costs mostly Python: handlers, distribution objects, validation,
and then autograd's tape. :func:`record_value_and_grad` runs a function once under
:func:`torch.fx.experimental.proxy_tensor.make_fx` *together with* ``torch.autograd.grad``
of its result, so the recorded graph holds the forward and the backward operations as
plain aten calls. The graph is then simplified (operations on constants evaluated once,
duplicates merged, identities dropped, negations absorbed into the operations that read
them) and traced with :func:`torch.jit.trace`. On the CPU the trace is replayed by
TorchScript's Static Runtime (each operation's out-variant into buffers planned once),
elsewhere by the TorchScript interpreter, with elementwise operations writing into a
dying operand instead of a new tensor. Each rewrite gives the same bits. Used by the
compiled ELBOs (:mod:`pyro.infer.jit_elbo`) and by HMC/NUTS
(:mod:`pyro.infer.mcmc.fast_potential`).

Replays of W1's graph of loss and gradients (77 aten operations, process CPU per call,
1 thread): Static Runtime 49 us, TorchScript interpreter 72 us, ``torch.jit.freeze``
78 us, ``torch.jit.optimize_for_inference`` 80 us, the fx graph run by Python 209 us,
inductor (``torch.compile``, ``fallback_random``) 49 us after 2.6 s CPU / 6.8 s wall of
compilation, and a loss that is no longer the eager one to the bit.

Random operations stay random operations: they are never evaluated at recording time nor
merged, so every replay draws afresh from torch's global generator, in the order the
function drew. The recording itself runs under :func:`torch.random.fork_rng` and leaves
the generators as it found them.

Tensors the function reads from its closure (rather than from its inputs) are constants
of the graph, except those named in ``wrt`` or chosen by ``lift``: these become extra
inputs of the graph (:attr:`FusedGraph.lifted`), so that the current values (e.g. of
parameters an optimizer updates) are passed at each replay.
"""
from __future__ import annotations

import functools
import math
import operator
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch.fx import Graph, GraphModule, Node

from pyro.util import validation_enabled

from .linalg import ignore_torch_deprecation_warnings

__all__ = ["FusedGraph", "RecordingError", "fold_constants", "record_value_and_grad",
           "reproduces", "simplify", "unchanged_rng"]

aten = torch.ops.aten

class _OpTables:
    """The aten operations the simplification passes look for, built at the first
    recording (looking up aten overloads costs milliseconds, which ``import pyro.infer``
    should not pay when nothing is recorded)."""

    def __init__(self) -> None:
        #: operations that return their input (at replay autograd is off, so detach is one)
        self.identities = frozenset({aten.detach.default, aten.alias.default,
                                     aten.lift_fresh.default})
        #: operations whose result depends only on the shape, dtype and device of their input
        self.like = frozenset({
            aten.ones_like.default, aten.zeros_like.default, aten.full_like.default,
            aten.new_ones.default, aten.new_zeros.default, aten.new_full.default,
        })
        self.ones = frozenset({aten.mul.Tensor, aten.div.Tensor})  # x * 1, x / 1
        self.zeros = frozenset({aten.add.Tensor, aten.sub.Tensor})  # x + 0, x - 0
        #: op.Scalar(x, number) -> op.Tensor(x, 0-dim tensor): the Scalar overloads wrap
        #: the number as a float64 tensor and cast it at every call
        self.scalar_to_tensor = {
            getattr(aten, name).Scalar: getattr(aten, name).Tensor
            for name in ("add", "sub", "mul", "div", "rsub", "eq", "ne", "lt", "le", "gt",
                         "ge", "remainder", "fmod")
        }
        #: elementwise operations and their in-place twins (the same structured kernel)
        self.in_place = {
            getattr(getattr(aten, name), overload): getattr(getattr(aten, name + "_"), overload)
            for name, overload in _IN_PLACE_TWINS
            if hasattr(aten, name + "_") and hasattr(getattr(aten, name + "_"), overload)
        }
        self.commutative = frozenset({aten.add.Tensor, aten.mul.Tensor})


#: (name, overload) of the operations :func:`_reuse_dead_buffers` may turn in place
_IN_PLACE_TWINS = (
    ("add", "Tensor"), ("sub", "Tensor"), ("mul", "Tensor"), ("div", "Tensor"),
    ("xlogy", "Tensor"), ("pow", "Tensor_Scalar"), ("pow", "Tensor_Tensor"),
    ("clamp", "default"), ("clamp_min", "default"), ("clamp_max", "default"),
    *((name, "default") for name in (
        "neg", "exp", "expm1", "log", "log1p", "log2", "log10", "lgamma", "digamma",
        "sigmoid", "tanh", "sqrt", "rsqrt", "reciprocal", "abs", "sin", "cos", "erf",
        "erfc", "floor", "ceil", "round", "sign", "square")),
)


@functools.cache
def _ops() -> _OpTables:
    return _OpTables()


class RecordingError(RuntimeError):
    """The function cannot be recorded as one graph (the message says why)."""


def _schema_op(node: Node) -> torch._ops.OpOverload | None:
    target = node.target
    if node.op == "call_function" and isinstance(target, torch._ops.OpOverload):
        return target
    return None


def _is_view(node: Node) -> bool:
    op = _schema_op(node)
    if op is None:
        return False
    returns = op._schema.returns
    return bool(returns) and returns[0].alias_info is not None


def _is_random(op: torch._ops.OpOverload) -> bool:
    return torch.Tag.nondeterministic_seeded in op.tags


def _written_nodes(graph: Graph) -> set[Node]:
    """The nodes whose tensor (or a view of it) an in-place operation writes: never
    evaluated once, merged or replaced."""
    written: set[Node] = set()
    for node in graph.nodes:
        op = _schema_op(node)
        if op is None or not op._schema.is_mutable:
            continue
        schema_args = op._schema.arguments
        targets = [a for a, s in zip(node.args, schema_args) if s.alias_info is not None
                   and s.alias_info.is_write]
        targets += [node.kwargs[s.name] for s in schema_args if s.name in node.kwargs
                    and s.alias_info is not None and s.alias_info.is_write]
        for target in targets:
            while isinstance(target, Node) and target not in written:
                written.add(target)
                target = target.args[0] if _is_view(target) and target.args else None
    return written


def _foldable(node: Node) -> bool:
    """A pure, deterministic aten operation (or tuple indexing)."""
    if node.op == "call_function" and node.target is operator.getitem:
        return True
    op = _schema_op(node)
    return op is not None and not op._schema.is_mutable and not _is_random(op)


def _stand_in(node: Node) -> torch.Tensor | None:
    """An uninitialized tensor with the recorded shape, strides, dtype and device of
    ``node``'s value (what a ``*_like`` operation reads of it)."""
    val = node.meta.get("val")
    if not isinstance(val, torch.Tensor):
        return None
    return torch.empty_strided(val.shape, val.stride(), dtype=val.dtype, device=val.device)


def _register(gm: GraphModule, node: Node, value: torch.Tensor, known: dict) -> None:
    name = f"_folded_{len(gm._buffers)}"
    gm.register_buffer(name, value)
    with gm.graph.inserting_before(node):
        const = gm.graph.get_attr(name)
    const.meta = dict(node.meta)
    node.replace_all_uses_with(const)
    known[const] = value


def fold_constants(gm: GraphModule) -> None:
    """Evaluate once, now, the operations that do not depend on the graph's inputs
    (arithmetic on data and constants, ``ones_like`` of any tensor of fixed shape), so a
    replay runs only the operations on the inputs. Random and in-place operations, and
    tensors an in-place operation writes, are left in the graph."""
    graph = gm.graph
    written = _written_nodes(graph)
    known: dict[Node, Any] = {}
    with torch.no_grad():
        for node in list(graph.nodes):
            if node.op == "get_attr":
                if node not in written:
                    known[node] = getattr(gm, node.target)  # type: ignore[arg-type]
                continue
            if node in written or not _foldable(node):
                continue
            if node.target in _ops().like and isinstance(node.args[0], Node) \
                    and node.args[0] not in known:
                stand_in = _stand_in(node.args[0])
                rest = node.args[1:]
                if stand_in is None or not all(a in known for a in _nodes(rest, node.kwargs)):
                    continue
                args = (stand_in,) + torch.fx.node.map_arg(rest, known.__getitem__)
            elif all(arg in known for arg in node.all_input_nodes):
                args = torch.fx.node.map_arg(node.args, known.__getitem__)
            else:
                continue
            kwargs = torch.fx.node.map_arg(node.kwargs, known.__getitem__)
            value = node.target(*args, **kwargs)  # type: ignore[operator]
            known[node] = value
            if isinstance(value, torch.Tensor):
                _register(gm, node, value, known)
    graph.eliminate_dead_code()
    gm.recompile()


def _nodes(args: Any, kwargs: Any) -> list[Node]:
    found: list[Node] = []
    torch.fx.node.map_arg((args, kwargs), found.append)
    return found


def _constant_equal(gm: GraphModule, node: Any, number: float) -> bool:
    """Whether ``node`` is the number ``number`` or a constant tensor holding only it."""
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return node == number
    if not isinstance(node, Node) or node.op != "get_attr":
        return False
    value = getattr(gm, node.target)  # type: ignore[arg-type]
    return isinstance(value, torch.Tensor) and value.numel() <= 64 and \
        bool((value == number).all())


def _same_meta(a: Any, b: Node) -> bool:
    va, vb = (a.meta.get("val") if isinstance(a, Node) else None), b.meta.get("val")
    return isinstance(va, torch.Tensor) and isinstance(vb, torch.Tensor) and \
        va.shape == vb.shape and va.dtype == vb.dtype and va.device == vb.device


def _replacement(gm: GraphModule, node: Node) -> Node | None:
    """What ``node`` may be replaced by: its input, for identities, ``x * 1``, ``x / 1``,
    ``x + 0``, ``x - 0``, ``-(-x)``, ``expand`` to the same shape and the sum of a 0-dim
    tensor."""
    op = node.target
    args = node.args
    ops = _ops()
    if op in ops.identities:
        return args[0] if isinstance(args[0], Node) else None
    if op is aten.neg.default and isinstance(args[0], Node) \
            and args[0].target is aten.neg.default and isinstance(args[0].args[0], Node):
        return args[0].args[0]
    if op is aten.expand.default and isinstance(args[0], Node) and _same_meta(args[0], node):
        return args[0]
    if op is aten.pow.Tensor_Scalar and args[1] == 1 and isinstance(args[0], Node) \
            and _same_meta(args[0], node):
        return args[0]  # x ** 1
    if op is aten.sum.default and len(args) == 1 and not node.kwargs \
            and isinstance(args[0], Node) and _same_meta(args[0], node):
        return args[0]  # the sum of a 0-dim tensor
    if len(args) != 2 or node.kwargs:
        return None
    if op in ops.ones or op is aten.mul.Scalar or op is aten.div.Scalar:
        unit = 1.0
    elif op in ops.zeros or op is aten.add.Scalar or op is aten.sub.Scalar:
        unit = 0.0
    else:
        return None
    x, y = args
    if _constant_equal(gm, y, unit) and _same_meta(x, node):
        return x  # type: ignore[return-value]
    commutes = op in (aten.mul.Tensor, aten.add.Tensor)
    if commutes and _constant_equal(gm, x, unit) and _same_meta(y, node):
        return y  # type: ignore[return-value]
    return None


def _drop_identities(gm: GraphModule) -> bool:
    written = _written_nodes(gm.graph)
    changed = False
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node in written:
            continue
        new = _replacement(gm, node)
        if new is not None and new not in written:  # (an alias of a tensor written later)
            node.replace_all_uses_with(new)
            changed = True
    gm.graph.eliminate_dead_code()
    return changed


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    hash(value)
    return value


def _constant_key(gm: GraphModule, node: Node) -> Any:
    """Small constants are the same constant when their values are (so that ``1 - x``
    recorded twice is computed once); larger ones when they are the same buffer."""
    value = getattr(gm, node.target)  # type: ignore[arg-type]
    if isinstance(value, torch.Tensor) and value.numel() <= 16 and not value.requires_grad:
        return ("constant", value.dtype, value.device, value.shape, value.stride(),
                tuple(value.flatten().tolist()))
    return ("get_attr", node.target)


def _merge_duplicates(gm: GraphModule) -> None:
    """Common subexpression elimination: one node per pure operation on the same
    arguments (random and in-place operations excepted)."""
    written = _written_nodes(gm.graph)
    seen: dict[Any, Node] = {}
    for node in list(gm.graph.nodes):
        if node in written or node.op not in ("call_function", "get_attr"):
            continue
        if node.op == "call_function" and not _foldable(node):
            continue
        try:
            key = _constant_key(gm, node) if node.op == "get_attr" else \
                (node.target, _hashable(node.args), _hashable(node.kwargs))
        except TypeError:
            continue
        first = seen.setdefault(key, node)
        if first is not node:
            node.replace_all_uses_with(first)
            gm.graph.erase_node(node)


def _shared_outputs(gm: GraphModule) -> tuple[list[int], dict[int, torch.Tensor]]:
    """The outputs that a replay would hand out while also holding or reading them (as
    a ``.grad`` say), to be copied at each replay: the positions (in the flat output
    tuple) of those that are an input or a view of one, and the constant outputs by
    position, which are taken out of the graph (``torch.jit.trace`` rejects outputs that
    do not depend on its inputs, and would fold a ``clone`` of a constant anyway)."""
    output = next(n for n in gm.graph.nodes if n.op == "output")
    values = list(output.args[0])
    inputs: list[int] = []
    constants: dict[int, torch.Tensor] = {}
    for i, node in enumerate(values):
        if isinstance(node, Node) and node.op == "get_attr":
            constants[i] = getattr(gm, node.target)  # type: ignore[arg-type]
            continue
        while isinstance(node, Node) and _is_view(node) and node.args:
            node = node.args[0]
        if isinstance(node, Node) and node.op == "placeholder":
            inputs.append(i)
    if constants:
        output.args = (tuple(v for i, v in enumerate(values) if i not in constants),)
        gm.graph.eliminate_dead_code()
        gm.recompile()
    return inputs, constants


def _number_constant(gm: GraphModule, node: Node, value: Any, like: torch.Tensor) -> Node:
    name = f"_number_{len(gm._buffers)}"
    gm.register_buffer(name, torch.tensor(value, dtype=like.dtype, device=like.device))
    with gm.graph.inserting_before(node):
        return gm.graph.get_attr(name)


def _keeps_dtype(value: Any, like: torch.Tensor) -> bool:
    """Whether ``like op value`` computes in ``like``'s dtype (a wrapped number does not
    promote a tensor of its own kind; a float with an integer tensor does)."""
    if type(value) is int:
        return like.dtype.is_floating_point or like.dtype in (torch.int64, torch.int32,
                                                              torch.int16, torch.int8,
                                                              torch.uint8)
    return type(value) is float and like.dtype.is_floating_point


def _typed_numbers(gm: GraphModule) -> None:
    """Python numbers in tensor operations become 0-dim constants of the other
    operand's dtype: ``x - 1`` is recorded with ``1`` as an int64 tensor, and ``x <= 0.5``
    wraps ``0.5`` as a float64 tensor, each cast again at every replay. The results are
    the same, as a wrapped number takes the dtype of the tensor it meets."""
    scalar_to_tensor = _ops().scalar_to_tensor
    for node in list(gm.graph.nodes):
        op = _schema_op(node)
        if op is None or not node.args or not isinstance(node.args[0], Node):
            continue
        like = node.args[0].meta.get("val")
        if not isinstance(like, torch.Tensor):
            continue
        tensor_op = scalar_to_tensor.get(op)
        if tensor_op is not None and len(node.args) >= 2 and _keeps_dtype(node.args[1], like):
            # trailing positional Scalars (alpha) are keyword-only in the Tensor overload
            names = [a.name for a in op._schema.arguments]
            kwargs = dict(node.kwargs)
            kwargs.update(zip(names[2:], node.args[2:]))
            node.args = (node.args[0], _number_constant(gm, node, node.args[1], like))
            node.kwargs = kwargs
            node.target = tensor_op
            continue
        new_args = list(node.args)
        for i, (value, schema) in enumerate(zip(node.args, op._schema.arguments)):
            if str(schema.type) == "Tensor" and _keeps_dtype(value, like):
                new_args[i] = _number_constant(gm, node, value, like)
        node.args = tuple(new_args)


def _cast_constants(gm: GraphModule) -> None:
    """A 0-dim constant meeting a tensor of the same kind but another dtype (a float64
    scalar times a float32 tensor) is cast once, now, instead of at every replay: a
    0-dim operand does not change the dtype a tensor with dimensions computes in."""
    for node in list(gm.graph.nodes):
        op = _schema_op(node)
        if op is None or op._schema.is_mutable:
            continue
        tensors = [a for a in node.args if isinstance(a, Node)]
        constants = [a for a in tensors if a.op == "get_attr"]
        values = [a.meta.get("val") for a in tensors if a.op != "get_attr"]
        others = [v for v in values if isinstance(v, torch.Tensor)]
        if not constants or not others or len(others) != len(values):
            continue
        dtypes = {v.dtype for v in others}
        if len(dtypes) != 1 or max(v.dim() for v in others) == 0:
            continue
        dtype = dtypes.pop()
        for const in constants:
            value = getattr(gm, const.target)  # type: ignore[arg-type]
            if not isinstance(value, torch.Tensor) or value.dim() != 0 or value.dtype == dtype \
                    or value.dtype.is_floating_point != dtype.is_floating_point \
                    or value.dtype.is_complex or dtype.is_complex or value.dtype == torch.bool:
                continue
            cast = _number_constant(gm, node, value.item(), others[0])
            node.replace_input_with(const, cast)


def _meta_dtype(node: Any) -> torch.dtype | None:
    val = node.meta.get("val") if isinstance(node, Node) else None
    return val.dtype if isinstance(val, torch.Tensor) else None


def _cheaper_equivalents(gm: GraphModule) -> None:
    """Operations replaced by equivalents that cost less per call (measured on CPU):
    ``masked_fill(x, mask, v)`` (a copy of ``x``, then an in-place fill) by
    ``where(mask, v, x)``, and ``a.logical_and_(b)`` of boolean masks (autograd's
    ``clamp`` backward) by ``a & b`` when ``a`` serves nothing else."""
    for node in list(gm.graph.nodes):
        op = node.target
        if op is aten.masked_fill.Scalar and len(node.args) == 3 and not node.kwargs:
            x, mask, value = node.args
            like = x.meta.get("val") if isinstance(x, Node) else None
            if isinstance(like, torch.Tensor) and _keeps_dtype(value, like):
                fill = _number_constant(gm, node, value, like)
                node.target = aten.where.self
                node.args = (mask, fill, x)
        elif op is aten.logical_and_.default and len(node.args) == 2 and not node.kwargs:
            a, b = node.args
            if _meta_dtype(a) is torch.bool and _meta_dtype(b) is torch.bool \
                    and len(a.users) == 1:
                node.target = aten.bitwise_and.Tensor


def _float_scalar(gm: GraphModule, node: Any) -> torch.Tensor | None:
    """The value of a 0-dim floating-point constant node (None for anything else)."""
    if not isinstance(node, Node) or node.op != "get_attr":
        return None
    value = getattr(gm, node.target)  # type: ignore[arg-type]
    if isinstance(value, torch.Tensor) and value.dim() == 0 \
            and value.dtype.is_floating_point and not value.requires_grad:
        return value
    return None


def _negated_constant(gm: GraphModule, before: Node, value: torch.Tensor) -> Node:
    name = f"_negated_{len(gm._buffers)}"
    gm.register_buffer(name, -value)
    with gm.graph.inserting_before(before):
        const = gm.graph.get_attr(name)
    const.meta = {"val": -value}
    return const


def _neg_after(gm: GraphModule, node: Node) -> Node:
    """Put a ``neg`` after ``node``, for all of ``node``'s users; returns it."""
    with gm.graph.inserting_after(node):
        neg = gm.graph.call_function(aten.neg.default, (node,))
    neg.meta = dict(node.meta)
    node.replace_all_uses_with(neg, delete_user_cb=lambda user: user is not neg)
    return neg


def _absorb_negation(gm: GraphModule, neg: Node, x: Node, user: Node) -> Node | bool:
    """Rewrite ``user`` of ``neg = -x`` to read ``x`` instead: ``y + -x`` -> ``y - x``,
    ``y - -x`` -> ``y + x``, ``-(-x)`` -> ``x``; when ``user`` is ``neg``'s only user,
    also ``-x * y`` and ``-x / y`` (or ``y / -x``) -> ``x * -c`` with a constant ``c``,
    ``x * z`` for ``y = -z``, and otherwise with the negation moved after ``user``
    (as for ``sum(-x)`` and ``-x - y``), where a later operation may absorb it.
    Returns whether ``user`` was rewritten, or the negation put after it."""
    op, args = user.target, user.args
    if user.op != "call_function" or user.kwargs or not args or \
            all(a is neg for a in args[:2]) and len(args) >= 2:
        return False
    if op is aten.neg.default:
        user.replace_all_uses_with(x)
        return True
    if op is aten.add.Tensor and len(args) == 2:
        user.target, user.args = aten.sub.Tensor, (args[1] if args[0] is neg else args[0], x)
        return True
    if op is aten.sub.Tensor and len(args) == 2 and args[1] is neg:
        user.target, user.args = aten.add.Tensor, (args[0], x)
        return True
    if len(neg.users) != 1:
        return False
    if op in (aten.mul.Tensor, aten.div.Tensor) and len(args) == 2:
        i = 0 if args[0] is neg else 1
        other = args[1 - i]
        new_args = list(args)
        new_args[i] = x
        constant = _float_scalar(gm, other)
        if constant is not None:
            new_args[1 - i] = _negated_constant(gm, user, constant)
        elif isinstance(other, Node) and other.target is aten.neg.default \
                and len(other.users) == 1 and isinstance(other.args[0], Node):
            new_args[1 - i] = other.args[0]
        else:
            user.args = tuple(new_args)
            return _neg_after(gm, user)
        user.args = tuple(new_args)
        return True
    if op is aten.sum.default and len(args) == 1:
        user.args = (x,)
        return _neg_after(gm, user)
    if op is aten.sub.Tensor and len(args) == 2 and args[0] is neg:
        user.target, user.args = aten.add.Tensor, (x, args[1])
        return _neg_after(gm, user)
    return False


def _minus_one_to_negation(gm: GraphModule, node: Node) -> None:
    """``x * -1``, ``-1 * x``, ``x / -1`` -> ``-x`` (of ``x``'s shape and dtype)."""
    if node.target not in (aten.mul.Tensor, aten.div.Tensor) or len(node.args) != 2:
        return
    pairs = [(node.args[0], node.args[1])]
    if node.target is aten.mul.Tensor:
        pairs.append((node.args[1], node.args[0]))
    for x, c in pairs:
        if _constant_equal(gm, c, -1.0) and isinstance(x, Node) and _same_meta(x, node):
            node.target, node.args = aten.neg.default, (x,)
            return


def _sink_negations(gm: GraphModule) -> None:
    """Negations absorbed into the operations that read them (:func:`_absorb_negation`),
    and ``x * -1``, ``x / -1`` made negations first: each rewrite gives the same bits
    (IEEE rounding is symmetric in sign: ``-(a * b) == -a * b``, ``y - x == y + -x``,
    and a sum of negated terms is the negated sum, added in the same order). A negation
    moved after an operation is taken up next, so one pass carries it as far as it goes."""
    graph = gm.graph
    written = _written_nodes(graph)
    for node in graph.nodes:
        if node.op == "call_function" and node not in written and not node.kwargs:
            _minus_one_to_negation(gm, node)
    work = [n for n in graph.nodes if n.target is aten.neg.default and n not in written
            and not n.kwargs and isinstance(n.args[0], Node) and n.args[0] not in written]
    work.reverse()  # (in graph order)
    while work:
        node = work.pop()
        x = node.args[0]
        for user in list(node.users):
            if user in written:
                continue
            moved = _absorb_negation(gm, node, x, user)
            if isinstance(moved, Node):
                work.append(moved)
        if not node.users:
            graph.erase_node(node)


def simplify(gm: GraphModule) -> None:
    """Fold constants, drop identities, absorb negations, merge duplicates, remove dead
    code (in place)."""
    _typed_numbers(gm)
    _cheaper_equivalents(gm)
    fold_constants(gm)
    while _drop_identities(gm):
        fold_constants(gm)
    _sink_negations(gm)
    _cast_constants(gm)
    _merge_duplicates(gm)
    gm.graph.eliminate_dead_code()
    gm.graph.lint()
    gm.recompile()


def _lift(gm: GraphModule, choose: Callable[[torch.Tensor], bool]) -> list[torch.Tensor]:
    """Turn the constants ``choose`` selects into inputs, placed before the existing
    ones; returns the lifted tensors in input order."""
    graph = gm.graph
    first = next(iter(graph.nodes))
    lifted: list[torch.Tensor] = []
    placeholders: dict[int, Node] = {}
    attrs = [n for n in graph.nodes if n.op == "get_attr"]
    for node in attrs:  # new placeholders first, before any node is erased
        value = getattr(gm, node.target)  # type: ignore[arg-type]
        if isinstance(value, torch.Tensor) and id(value) not in placeholders and choose(value):
            with graph.inserting_before(first):
                placeholders[id(value)] = graph.placeholder(f"lifted_{len(lifted)}")
            placeholders[id(value)].meta = dict(node.meta)
            lifted.append(value)
    for node in attrs:
        placeholder = placeholders.get(id(getattr(gm, node.target)))  # type: ignore[arg-type]
        if placeholder is not None:
            node.replace_all_uses_with(placeholder)
            graph.erase_node(node)
    gm.recompile()
    return lifted


@contextmanager
def unchanged_rng(tensors: Sequence[torch.Tensor] = ()) -> Iterator[None]:
    """Run the block with torch's random generators restored afterwards (the CPU one and
    those of the CUDA devices of ``tensors``): a recording draws nothing from the
    caller's random stream."""
    devices = sorted({t.device.index or 0 for t in tensors if t.device.type == "cuda"})
    with torch.random.fork_rng(devices=devices):
        yield


@contextmanager
def _unvalidated_samples() -> Iterator[None]:
    # Distributions made while validation was on (e.g. a PyroSample prior built with
    # its module) check their samples whatever the global setting says.
    original = torch.distributions.Distribution._validate_sample

    def skip(self: torch.distributions.Distribution, value: torch.Tensor) -> None:
        return None

    torch.distributions.Distribution._validate_sample = skip  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.distributions.Distribution._validate_sample = original  # type: ignore[method-assign]


@contextmanager
def _recording(tensors: Sequence[torch.Tensor]) -> Iterator[None]:
    # distributions' argument checks read tensor values, which a recording cannot hold;
    # the caller has run (and validated) the function eagerly. torch's notices about
    # its own APIs (torch.jit.trace is deprecated) are not the caller's concern.
    with unchanged_rng(tensors), validation_enabled(False), _unvalidated_samples(), \
            ignore_torch_deprecation_warnings(), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        yield


class FusedGraph:
    """A recorded value-and-gradient graph (output of :func:`record_value_and_grad`).

    Call it with the current values of the :attr:`lifted` tensors followed by the
    inputs; it returns ``(value, *grads)`` with one gradient for each ``wrt`` tensor
    whose :attr:`has_grad` entry is true (the others do not influence the value). Runs
    with autograd off. The outputs are new tensors at every call. On the CPU one graph
    keeps one set of working buffers (the Static Runtime's), so it is not to be called
    from several threads at once.

    :ivar lifted: the closure tensors the graph takes as leading inputs, in order.
    :ivar has_grad: per ``wrt`` tensor, whether the graph outputs its gradient.
    :ivar frozen: closure tensors that require grad but are constants of the graph
        (neither in ``wrt`` nor lifted): gradients do not reach them.
    :ivar graph_module: the simplified :class:`torch.fx.GraphModule` (for inspection).
    """

    def __init__(self, run: Callable, lifted: list[torch.Tensor], has_grad: list[bool],
                 frozen: list[torch.Tensor], graph_module: GraphModule,
                 shared: tuple[list[int], dict[int, torch.Tensor]],
                 scalars: tuple[torch.Tensor, ...] = (), clone_outputs: bool = False) -> None:
        self._run = run
        self._scalars = scalars
        self._copied, self._constants = shared
        if clone_outputs:  # every computed output copied (see _static_runtime)
            computed = graph_module.graph.output_node().args[0]
            size = len(computed) if isinstance(computed, (tuple, list)) else 1
            size += len(self._constants)
            self._copied = [i for i in range(size) if i not in self._constants]
        self._clone_all = clone_outputs and not self._constants
        self._as_computed = not (self._copied or self._constants)
        self.lifted = lifted
        self.has_grad = has_grad
        self.frozen = frozen
        self.graph_module = graph_module

    def __call__(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # (cheaper than torch.no_grad(), which matters for graphs of microseconds)
        grad_enabled = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        try:
            out = self._run(*tensors, *self._scalars)
            if self._as_computed:
                return out
            if self._clone_all:
                return tuple([t.clone() for t in out])
            return self._fresh(out)
        finally:
            torch._C._set_grad_enabled(grad_enabled)

    def _fresh(self, out: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        computed = iter(out)
        size = len(out) + len(self._constants)
        fresh = [self._constants[i].clone() if i in self._constants else next(computed)
                 for i in range(size)]
        return tuple(t.clone() if i in self._copied else t for i, t in enumerate(fresh))


def _scalar_inputs(gm: GraphModule) -> tuple[torch.Tensor, ...]:
    """Turn the graph's 0-dim constants into trailing inputs, returned in order.

    TorchScript embeds a 0-dim constant as a wrapped number, which every operation then
    casts (a copy per use and replay); passed as an input it is the plain 0-dim tensor
    it was in the recorded program, with the same type promotion."""
    graph = gm.graph
    last = [n for n in graph.nodes if n.op == "placeholder"]
    anchor = last[-1] if last else next(iter(graph.nodes))
    scalars: list[torch.Tensor] = []
    for node in list(graph.nodes):
        if node.op != "get_attr":
            continue
        value = getattr(gm, node.target)  # type: ignore[arg-type]
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            continue
        if last:
            with graph.inserting_after(anchor):
                placeholder = graph.placeholder(f"scalar_{len(scalars)}")
        else:
            with graph.inserting_before(anchor):
                placeholder = graph.placeholder(f"scalar_{len(scalars)}")
        placeholder.meta = dict(node.meta)
        anchor, last = placeholder, [placeholder]
        node.replace_all_uses_with(placeholder)
        graph.erase_node(node)
        scalars.append(value)
    gm.recompile()
    return tuple(scalars)


def reproduces(got: torch.Tensor, reference: torch.Tensor, atol_scale: float) -> bool:
    """Whether a replayed output equals its eager ``reference``: the same shape, and values
    within ``rtol=1e-4`` and ``atol = atol_scale * max(1, largest |reference|)`` (a
    non-finite largest magnitude counts as 1); NaN matches NaN."""
    if got.shape != reference.shape:
        return False
    reference = reference.detach()
    scale = float(reference.abs().max()) if reference.numel() else 0.0
    scale = scale if math.isfinite(scale) else 1.0
    return bool(torch.allclose(got, reference, rtol=1e-4, atol=atol_scale * max(scale, 1.0),
                               equal_nan=True))


def _fresh_and_dying(x: Any, node: Node, position: dict[Node, int], written: set[Node],
                     owned: set[Node]) -> bool:
    """Whether ``node`` may write its result into ``x``'s tensor: ``x`` is a fresh tensor
    (the result of a pure operation, or of one already turned in place into such a
    tensor of its own; no view, no input or constant) that nothing reads after ``node``
    nor through a view, of ``node``'s result shape, strides, dtype and device."""
    if not isinstance(x, Node) or x in written or x.op != "call_function":
        return False
    op = _schema_op(x)
    if op is None:
        return False
    if x not in owned and (op._schema.is_mutable or len(op._schema.returns) != 1
                           or op._schema.returns[0].alias_info is not None
                           or str(op._schema.returns[0].type) != "Tensor"):
        return False
    here = position[node]
    for user in x.users:
        user_op = _schema_op(user)
        if user_op is None or position[user] > here or any(
                r.alias_info is not None for r in user_op._schema.returns):
            return False
    vx, vn = x.meta.get("val"), node.meta.get("val")
    return isinstance(vx, torch.Tensor) and isinstance(vn, torch.Tensor) and \
        vx.shape == vn.shape and vx.stride() == vn.stride() and vx.dtype == vn.dtype \
        and vx.device == vn.device


def _reuse_dead_buffers(gm: GraphModule) -> None:
    """Elementwise operations whose (first, or for ``add`` / ``mul`` either) operand is a
    fresh tensor that dies there write their result into it (``add`` -> ``add_``): the
    same kernel, without allocating a tensor (a quarter of a replayed 0-dim operation's
    cost). Every other tensor operand must have the result's dtype, so that the
    computation is the one recorded."""
    graph = gm.graph
    in_place, commutative = _ops().in_place, _ops().commutative
    written = _written_nodes(graph)
    owned: set[Node] = set()  # results written into a dead operand's tensor
    position = {node: i for i, node in enumerate(graph.nodes)}
    for node in graph.nodes:
        twin = in_place.get(node.target)  # type: ignore[call-overload]
        result = node.meta.get("val")
        if twin is None or not node.args or not isinstance(result, torch.Tensor) or any(
                _meta_dtype(a) != result.dtype for a in _nodes(node.args, node.kwargs)):
            continue
        choices = [0, 1] if node.target in commutative and not node.kwargs else [0]
        for i in choices:
            x = node.args[i] if i < len(node.args) else None
            if _fresh_and_dying(x, node, position, written, owned):
                args = list(node.args)
                args[0], args[i] = args[i], args[0]
                node.args = tuple(args)
                node.target = twin
                written.add(x)  # type: ignore[arg-type]
                owned.add(node)
                break
    gm.recompile()


def _as_function(gm: GraphModule) -> Callable[..., Any]:
    def replay(*tensors: torch.Tensor) -> Any:
        return gm(*tensors)
    return replay


def record_value_and_grad(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor],
    wrt: Sequence[torch.Tensor],
    lift: Callable[[torch.Tensor], bool] | None = None,
    jit_options: dict | None = None,
) -> FusedGraph:
    """Record ``fn(*inputs)`` and the gradient of its sum with respect to each tensor of
    ``wrt`` as one graph of aten operations, simplify it and trace it with
    :func:`torch.jit.trace` (replayed by the Static Runtime on the CPU: see the module
    docstring).

    :param fn: a function of tensors returning a tensor (any shape; the gradients are
        those of its sum). Its Python control flow and any value it reads from tensors
        are fixed at recording, as with :func:`torch.jit.trace`.
    :param inputs: example inputs (their shapes are fixed into the graph).
    :param wrt: tensors to differentiate with respect to: elements of ``inputs`` (by
        identity) or tensors ``fn`` reads from its closure that require grad (such as
        Pyro parameters); the latter become lifted inputs.
    :param lift: chooses further closure tensors to pass as inputs at each replay
        instead of freezing their current value into the graph.
    :param jit_options: keyword arguments of :func:`torch.jit.trace` (default
        ``check_trace=False``: a graph with random operations would fail the check).
    :raises RecordingError: when ``fn`` reads a tensor's value in Python (``.item()``,
        ``bool(tensor)``, data-dependent shapes), does not return a tensor, or uses an
        operation that cannot be recorded.
    """
    from torch.fx.experimental.proxy_tensor import make_fx

    inputs = tuple(inputs)
    position = {id(t): i for i, t in enumerate(inputs)}
    has_grad: list[bool] = []

    def value_and_grads(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        xs_list = list(xs)
        for t in wrt:
            if id(t) in position:
                i = position[id(t)]
                xs_list[i] = xs_list[i].detach().requires_grad_()
        targets = [xs_list[position[id(t)]] if id(t) in position else t for t in wrt]
        with torch.enable_grad():
            value = fn(*xs_list)
            if not isinstance(value, torch.Tensor):
                raise RecordingError(f"the function returned {type(value).__name__}, "
                                     f"not a tensor")
            grads: Sequence[torch.Tensor | None] = [None] * len(targets)
            if value.requires_grad and targets:
                total = value.sum() if value.dim() else value
                grads = torch.autograd.grad(total, targets, allow_unused=True)
        has_grad[:] = [g is not None for g in grads]
        return (value.detach(),) + tuple(g for g in grads if g is not None)

    closure_wrt = {id(t) for t in wrt if id(t) not in position}
    with _recording(list(inputs) + list(wrt)):
        try:
            gm = make_fx(value_and_grads, tracing_mode="real")(*inputs)
        except RecordingError:
            raise
        except Exception as e:  # data-dependent Python, operations make_fx cannot hold
            raise RecordingError(f"{type(e).__name__}: {e}") from e
        lifted = _lift(gm, lambda t: id(t) in closure_wrt or (lift is not None and lift(t)))
        frozen = [getattr(gm, n.target) for n in gm.graph.nodes if n.op == "get_attr"
                  and getattr(gm, n.target).requires_grad]  # type: ignore[arg-type]
        simplify(gm)
        shared = _shared_outputs(gm)
        scalars = _scalar_inputs(gm)
        example = tuple(lifted) + inputs + scalars
        options = {"check_trace": False, **(jit_options or {})}
        run = _static_runtime(gm, example, options)
        if run is None:
            _reuse_dead_buffers(gm)
            run = _trace(gm, example, options)
    # (the Static Runtime's outputs are inference tensors, which cannot be updated in
    # place outside inference mode, as a .grad is: they are handed out as copies)
    return FusedGraph(run, lifted, has_grad, frozen, gm, shared, scalars,
                      clone_outputs=run is not None and not isinstance(run, _TRACED))


_TRACED = (torch.jit.ScriptFunction, torch.jit.ScriptModule)


def _trace(gm: GraphModule, example: tuple[torch.Tensor, ...], options: dict) -> Any:
    # a traced function (not module) is the cheapest to call; the graph's buffers
    # become its constants
    try:
        return torch.jit.trace(_as_function(gm), example, **options)
    except TypeError:
        raise  # jit_options torch.jit.trace does not take
    except RuntimeError as e:  # e.g. no output depends on the inputs
        raise RecordingError(f"torch.jit.trace of the recorded graph failed: {e}") from e


def _static_runtime(gm: GraphModule, example: tuple[torch.Tensor, ...],
                    options: dict) -> Callable[..., Any] | None:
    """The graph traced and run by TorchScript's Static Runtime, which calls each
    operation's out-variant into buffers it plans once and reuses (a replay of W1's
    graph costs 49 us against 69 us for the TorchScript interpreter); ``None`` where it
    does not apply: a graph on another device than the CPU (the Static Runtime's kernels
    are CPU kernels), a torch without it, or a result that differs from the interpreter's
    by one bit at the example inputs (checked, same draws)."""
    make = getattr(torch._C, "_jit_to_static_module", None)
    tensors = list(example) + [b for b in gm.buffers()]
    if make is None or any(t.device.type != "cpu" for t in tensors):
        return None
    traced = _trace(gm, example, options)
    try:
        static = make(traced.graph.copy())
        with torch.no_grad():
            torch.manual_seed(0)
            expected = traced(*example)
            torch.manual_seed(0)
            got = static(*example)
    except RuntimeError:
        return None
    if not isinstance(expected, tuple):
        expected, got = (expected,), (got,) if not isinstance(got, tuple) else got
    if len(got) != len(expected) or not all(map(_same_bits, got, expected)):
        return None
    return static


def _same_bits(a: Any, b: Any) -> bool:
    """Whether two results are the same tensor values (NaN where the other has NaN)."""
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor) \
            or a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.is_floating_point or a.dtype.is_complex:
        nan = a.isnan()
        return torch.equal(nan, b.isnan()) and torch.equal(a[~nan], b[~nan])
    return torch.equal(a, b)
