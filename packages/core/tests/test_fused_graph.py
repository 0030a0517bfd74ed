"""pyro.ops.fused_graph: a value and its gradients recorded as one aten graph, against
eager autograd on the same function."""
import pytest
import torch
from torch.fx.experimental.proxy_tensor import make_fx

from pyro.ops.fused_graph import RecordingError, fold_constants, record_value_and_grad

DATA = torch.tensor([1.0, -2.0, 3.0])


def eager_value_and_grads(fn, x):
    x = x.detach().clone().requires_grad_()
    value = fn(x)
    (grad,) = torch.autograd.grad(value.sum(), (x,))
    return value.detach(), grad


def test_value_and_gradients_of_inputs_and_closure_tensors():
    w = torch.tensor([0.5, 0.1, -0.3], requires_grad=True)

    def fn(x):
        return ((x * DATA).exp() * w).sum() + (x ** 2).sum() - 1

    x = torch.tensor([0.2, -0.4, 0.1])
    graph = record_value_and_grad(fn, (x,), (x, w))
    assert graph.has_grad == [True, True]
    assert len(graph.lifted) == 1 and graph.lifted[0] is w  # w is passed at each replay
    for new_w in (w, torch.tensor([1.0, 2.0, 3.0])):
        value, gx, gw = graph(new_w, x)
        x_leaf = x.clone().requires_grad_()
        w_leaf = new_w.detach().clone().requires_grad_()
        (ref,) = [((x_leaf * DATA).exp() * w_leaf).sum() + (x_leaf ** 2).sum() - 1]
        ref_gx, ref_gw = torch.autograd.grad(ref, (x_leaf, w_leaf))
        assert value.item() == pytest.approx(ref.item(), rel=1e-6)
        torch.testing.assert_close(gx, ref_gx)
        torch.testing.assert_close(gw, ref_gw)
    assert not value.requires_grad


def test_unused_tensors_get_no_gradient():
    unused = torch.tensor(2.0, requires_grad=True)
    x = torch.tensor([1.0, 2.0])
    graph = record_value_and_grad(lambda x: (x * x).sum(), (x,), (x, unused))
    assert graph.has_grad == [True, False]
    value, grad = graph(x)
    torch.testing.assert_close(grad, 2 * x)


def test_random_operations_draw_afresh_in_the_eager_order():
    def fn(x):
        return (x * torch.randn(3)).sum() + torch.rand(()) * x.sum()

    x = torch.tensor([0.3, 0.2, 0.1])
    torch.manual_seed(5)
    before = torch.rand(())
    torch.manual_seed(5)
    graph = record_value_and_grad(fn, (x,), (x,))
    assert torch.rand(()) == before  # recording drew nothing from the caller's stream
    for seed in (0, 1):
        torch.manual_seed(seed)
        value, grad = graph(x)
        torch.manual_seed(seed)
        ref, ref_grad = eager_value_and_grads(fn, x)
        assert value.item() == pytest.approx(ref.item(), rel=1e-6)
        torch.testing.assert_close(grad, ref_grad)
    assert graph(x)[0] != graph(x)[0]  # random draws are neither folded nor merged


def test_outputs_are_fresh_tensors():
    # the gradient is the data itself: the replay must not hand out the data tensor
    x = torch.zeros(3)
    graph = record_value_and_grad(lambda x: (x * DATA).sum(), (x,), (x,))
    _, grad = graph(x)
    torch.testing.assert_close(grad, DATA)
    grad.zero_()
    torch.testing.assert_close(graph(x)[1], DATA)
    torch.testing.assert_close(DATA, torch.tensor([1.0, -2.0, 3.0]))


def test_in_place_operations_on_constants_are_replayed():
    def fn(x):
        c = DATA * 2.0  # a constant, then written in place: not evaluated once
        c.add_(x)
        return (c * c).sum()

    x = torch.tensor([0.5, 0.5, 0.5])
    graph = record_value_and_grad(fn, (x,), (x,))
    for _ in range(3):
        value, grad = graph(x)
        ref, ref_grad = eager_value_and_grads(fn, x)
        assert value.item() == pytest.approx(ref.item())
        torch.testing.assert_close(grad, ref_grad)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_python_numbers_keep_the_dtype(dtype):
    def fn(x):
        return ((x - 1) * 0.1 + (x <= 0.5) * x - x.clamp(min=0.2)).sum()

    x = torch.tensor([0.3, 0.7, 1.5], dtype=dtype)
    graph = record_value_and_grad(fn, (x,), (x,))
    value, grad = graph(x)
    ref, ref_grad = eager_value_and_grads(fn, x)
    assert value.dtype == grad.dtype == dtype
    assert value.item() == ref.item()
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=0)


def test_reading_a_value_in_python_cannot_be_recorded():
    def fn(x):
        return x.sum() * float(x[0])

    with pytest.raises(RecordingError, match="_local_scalar_dense|data-dependent"):
        record_value_and_grad(fn, (torch.ones(2),), ())


def test_fold_constants_keeps_only_the_operations_on_the_input():
    def f(x):
        scale = DATA.exp() * 2.0 + torch.ones_like(x).cumsum(0)  # no work on x itself
        return (x * scale).sum()

    graph = make_fx(f)(torch.zeros(3))
    fold_constants(graph)
    ops = [n.target for n in graph.graph.nodes if n.op == "call_function"]
    assert ops == [torch.ops.aten.mul.Tensor, torch.ops.aten.sum.default]
    x = torch.tensor([0.5, -1.0, 2.0])
    assert graph(x).item() == pytest.approx(f(x).item())


def test_reproduces_compares_shape_scaled_tolerance_and_nan():
    from pyro.ops.fused_graph import reproduces

    ref = torch.tensor([1000.0, 0.0])
    # atol scales with the largest reference magnitude: 1e-6 * 1000
    assert reproduces(ref + torch.tensor([5e-4, 5e-4]), ref, atol_scale=1e-6)
    assert not reproduces(ref + torch.tensor([0.0, 2e-3]), ref, atol_scale=1e-6)
    # NaN matches NaN (and only NaN)
    with_nan = torch.tensor([1.0, float("nan")])
    assert reproduces(with_nan.clone(), with_nan, atol_scale=1e-6)
    assert not reproduces(torch.tensor([1.0, 0.0]), with_nan, atol_scale=1e-6)
    # the same value in another shape is not a reproduction
    assert not reproduces(torch.zeros(1, 3), torch.zeros(3), atol_scale=1e-6)
    # an infinite reference counts as magnitude 1 (no infinite tolerance)
    inf_ref = torch.tensor([float("inf"), 1.0])
    assert not reproduces(torch.tensor([float("inf"), 1.1]), inf_ref, atol_scale=1e-5)
    assert reproduces(inf_ref.clone(), inf_ref, atol_scale=1e-5)
