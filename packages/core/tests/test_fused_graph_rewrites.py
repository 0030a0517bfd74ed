"""pyro.ops.fused_graph's cost-saving rewrites and runtimes: negations absorbed into the
operations that read them, elementwise operations writing into a dying operand's tensor
(for the TorchScript interpreter), and the Static Runtime on the CPU. Each must give the
bits of the graph without it (and of eager autograd), and must never write into a tensor
that is read later, an input, a constant or a view."""
import pytest
import torch

import pyro.ops.fused_graph as fused_graph
from pyro.ops.fused_graph import record_value_and_grad

aten = torch.ops.aten


@pytest.fixture(params=["static_runtime", "interpreter"])
def runtime(request, monkeypatch):
    """Both replays: the Static Runtime (CPU) and the TorchScript interpreter (what other
    devices use)."""
    if request.param == "interpreter":
        monkeypatch.setattr(fused_graph, "_static_runtime", lambda *args: None)
    return request.param


@pytest.fixture
def interpreter(monkeypatch):
    monkeypatch.setattr(fused_graph, "_static_runtime", lambda *args: None)


def _record(fn, x, rewrites=True):
    if rewrites:
        return record_value_and_grad(fn, (x,), (x,))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fused_graph, "_sink_negations", lambda gm: False)
        patch.setattr(fused_graph, "_reuse_dead_buffers", lambda gm: None)
        patch.setattr(fused_graph, "_static_runtime", lambda *args: None)
        return record_value_and_grad(fn, (x,), (x,))


def _targets(graph):
    return [n.target for n in graph.graph_module.graph.nodes if n.op == "call_function"]


def _eager(fn, x):
    x = x.detach().clone().requires_grad_()
    value = fn(x)
    (grad,) = torch.autograd.grad(value.sum(), (x,))
    return value.detach(), grad


def _assert_bits(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape
        assert torch.equal(g, e), (g, e)


C = torch.tensor([0.7, -1.3, 2.1])

# functions whose recorded value-and-gradient graphs hold negations (written or from
# autograd: the derivative of 1 - x, of y - x, of log1p(-x), ...)
NEGATING = {
    "add_neg": lambda x: (-x.exp() + x.sin()).sum(),
    "sub_neg": lambda x: (x.cos() - -(x * x)).sum(),
    "mul_neg": lambda x: (-x.exp() * x.sin()).sum(),
    "div_neg_constant": lambda x: (-(x * x) / 3.0).sum() + (x.exp() * -1).sum(),
    "neg_times_neg": lambda x: ((-x.exp()) * (-x.sin())).sum(),
    "sum_of_neg": lambda x: -(-(x.exp())).sum() - (-x.sin()).sum(),
    "neg_minus": lambda x: (-x.exp() - x.cos()).sum(),
    "one_minus": lambda x: (torch.log1p(-torch.sigmoid(x)) * C).sum() + (1 - x).pow(2).sum(),
    "divide_by_minus_one": lambda x: (x.exp() / -1.0 + x).sum(),
}


@pytest.mark.parametrize("name", sorted(NEGATING))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rewritten_graph_gives_the_bits_of_the_plain_one(runtime, name, dtype):
    fn = NEGATING[name]
    x = torch.tensor([0.3, -1.2, 2.5], dtype=dtype)
    plain = _record(fn, x, rewrites=False)
    graph = _record(fn, x)
    for seed in range(3):
        x_new = torch.randn(3, generator=torch.Generator().manual_seed(seed), dtype=dtype)
        _assert_bits(graph(x_new), plain(x_new))
        _assert_bits(graph(x_new), _eager(fn, x_new))
    assert len(_targets(graph)) <= len(_targets(plain))


def test_negations_are_absorbed():
    x = torch.tensor([0.3, -1.2, 2.5])
    for name in ("add_neg", "sub_neg", "div_neg_constant", "neg_times_neg", "sum_of_neg",
                 "divide_by_minus_one"):
        targets = _targets(record_value_and_grad(NEGATING[name], (x,), (x,)))
        assert aten.neg.default not in targets and aten.neg_.default not in targets, name


def test_special_values_keep_their_bits(runtime):
    """Signed zeros, infinities and NaN through the rewritten negations."""
    def fn(x):
        return (-x * C + (-x.exp()) / (x * x) - (-x)).sum()

    x = torch.tensor([0.5, 1.0, 2.0])
    plain = _record(fn, x, rewrites=False)
    graph = _record(fn, x)
    for x_new in (torch.tensor([0.0, -0.0, 1.0]), torch.tensor([float("inf"), -1.0, 3.0]),
                  torch.tensor([float("nan"), 2.0, -0.0])):
        for g, e in zip(graph(x_new), plain(x_new)):
            assert torch.equal(g.isnan(), e.isnan())
            ok = ~e.isnan()
            assert torch.equal(g[ok] if g.dim() else g, e[ok] if e.dim() else e) \
                or bool(e.isnan().all())
            assert torch.equal(torch.signbit(g[ok] if g.dim() else g),
                               torch.signbit(e[ok] if e.dim() else e)) or bool(e.isnan().all())


def test_dying_operands_are_written_in_place(interpreter):
    def fn(x):
        a = x.exp()
        b = a * x  # a is read again below: not written
        c = b + a  # b dies here: written in place
        return (c.sin() * 2).sum()

    x = torch.tensor([0.1, 0.2, 0.3])
    graph = record_value_and_grad(fn, (x,), (x,))
    targets = _targets(graph)
    assert any(t._schema.name.endswith("_") for t in targets if hasattr(t, "_schema"))
    _assert_bits(graph(x), _eager(fn, x))


IN_PLACE_TRAPS = {
    # a tensor read after the operation that could have written it
    "read_later": lambda x: ((x.exp() + 1) * x.exp().exp()).sum() + x.exp().sum(),
    # a view of the operand read later (expand shares the operand's memory)
    "view_read_later": lambda x: ((x.sum().exp() + 1) * x).sum()
    + x.sum().exp().expand(3).mul(C).sum(),
    # an operand that is an input, a broadcast result larger than the operand
    "input_and_broadcast": lambda x: (x.sum().sin() + x).sum() + (x * 2).sum(),
    # an output that is also an intermediate
    "output_reads": lambda x: (x.exp() * x.exp().log()).sum(),
    # mixed dtypes: a float64 constant with a float32 operand
    "mixed_dtypes": lambda x: (x.exp() * torch.tensor(0.3, dtype=torch.float64)).sum(),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE_TRAPS))
def test_in_place_never_overwrites_what_is_read_later(runtime, name):
    fn = IN_PLACE_TRAPS[name]
    x = torch.tensor([0.3, -0.2, 0.5])
    plain = _record(fn, x, rewrites=False)
    graph = _record(fn, x)
    for x_new in (x, torch.tensor([1.0, 0.5, -0.7])):
        before = x_new.clone()
        _assert_bits(graph(x_new), plain(x_new))
        assert torch.equal(x_new, before)  # the input is never written
        torch.testing.assert_close(graph(x_new)[0], _eager(fn, x_new)[0])


def test_outputs_of_two_replays_are_distinct_tensors(runtime):
    fn = NEGATING["mul_neg"]
    x = torch.tensor([0.3, -1.2, 2.5])
    graph = record_value_and_grad(fn, (x,), (x,))
    first = graph(x)
    kept = [t.clone() for t in first]
    second = graph(torch.tensor([1.0, 2.0, 3.0]))
    _assert_bits(first, kept)  # a replay does not write into the previous one's outputs
    assert all(a.data_ptr() != b.data_ptr() for a in first for b in second)


def test_cpu_graphs_run_on_the_static_runtime_and_hand_out_normal_tensors():
    fn = NEGATING["one_minus"]
    x = torch.tensor([0.3, -1.2, 2.5])
    graph = record_value_and_grad(fn, (x,), (x,))
    assert isinstance(graph._run, torch._C.StaticModule)
    value, grad = graph(x)
    assert not value.is_inference() and not grad.is_inference()
    leaf = torch.zeros(3, requires_grad=True)
    leaf.grad = grad
    (leaf * 2).sum().backward()  # autograd accumulates into the .grad in place
    grad.mul_(0.5)  # as gradient clipping does
    _assert_bits((value,), (_eager(fn, x)[0],))


def test_static_runtime_that_differs_is_not_used(monkeypatch):
    """A Static Runtime whose result differs from the interpreter's at the recording is
    dropped for the interpreter (here: one that adds one to every output)."""
    make = torch._C._jit_to_static_module

    class OffByOne:
        def __init__(self, graph):
            self.static = make(graph)

        def __call__(self, *args):
            return tuple(t + 1 for t in self.static(*args))

    monkeypatch.setattr(torch._C, "_jit_to_static_module", OffByOne, raising=False)
    fn = NEGATING["add_neg"]
    x = torch.tensor([0.3, -1.2, 2.5])
    graph = record_value_and_grad(fn, (x,), (x,))
    assert isinstance(graph._run, torch.jit.ScriptFunction)
    _assert_bits(graph(x), _eager(fn, x))


def test_without_a_static_runtime_the_interpreter_replays(monkeypatch):
    monkeypatch.delattr(torch._C, "_jit_to_static_module")
    fn = NEGATING["sum_of_neg"]
    x = torch.tensor([0.3, -1.2, 2.5])
    graph = record_value_and_grad(fn, (x,), (x,))
    assert isinstance(graph._run, torch.jit.ScriptFunction)
    _assert_bits(graph(x), _eager(fn, x))
