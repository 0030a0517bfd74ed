"""safe_logsumexp and LogRing contractions keep gradients finite where a partial sum is
over impossible configurations only (all -inf), as Pyro's enumeration does; torch's
logsumexp backward gives NaN there (exp(-inf - -inf)). Pyro's examples/sir_hmc.py stopped
here ("could not find a starting point") on such NaN gradients."""
import pytest
import torch

from pyro.ops.rings import LogRing, label
from pyro.ops.special import safe_logsumexp

NINF = float("-inf")


def test_value_and_gradient_equal_torch_where_finite():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, requires_grad=True)
    for dims in (-1, (0, 2), (1,)):
        got = safe_logsumexp(x, dims)
        want = x.logsumexp(dims)
        assert torch.equal(got, want)
        g = torch.randn_like(want)
        (gx,) = torch.autograd.grad(got, x, g)
        (wx,) = torch.autograd.grad(want, x, g)
        torch.testing.assert_close(gx, wx)


def test_gradient_is_zero_on_an_all_minus_inf_group():
    x = torch.tensor([[NINF, NINF, NINF], [0.0, 1.0, 2.0]], requires_grad=True)
    inner = safe_logsumexp(x, -1)
    assert inner[0] == NINF
    total = safe_logsumexp(inner + torch.tensor([0.0, 1.0]), 0)
    (g,) = torch.autograd.grad(total, x)
    assert torch.equal(g[0], torch.zeros(3))
    # the possible row alone: the same gradient by a second computation
    row = x.detach()[1].clone().requires_grad_()
    (g1,) = torch.autograd.grad((row.logsumexp(0) + 1.0).logsumexp(0), row)
    torch.testing.assert_close(g[1], g1)


def test_works_under_vmap_and_grad():
    from torch.func import grad, vmap

    x = torch.randn(4, 3)
    torch.testing.assert_close(vmap(lambda t: safe_logsumexp(t, 0))(x), x.logsumexp(-1))
    torch.testing.assert_close(grad(lambda t: safe_logsumexp(t, 0))(x[0]), x[0].softmax(0))


@pytest.mark.parametrize("join", ["table", "einsum"])
def test_log_ring_contraction_with_an_impossible_partial_sum(join):
    # log Z = logsumexp_a (x_a + logsumexp_b ...) where every y_0b is -inf, so the partial
    # sum for a = 0 is -inf. "table": y_ab + v_ab, summed over b by the ring's logsumexp;
    # "einsum": y_ab with w_bc, joined by the ring's shifted einsum and log.
    torch.manual_seed(1)
    x = torch.randn(3, requires_grad=True)
    y0 = torch.randn(3, 4)
    y0[0] = NINF
    y = y0.clone().requires_grad_()
    other = torch.randn(3, 4) if join == "table" else torch.randn(4, 5)
    dims = "ab" if join == "table" else "bc"
    syms = {"a", "b"} | set(dims)
    logz = LogRing().sumproduct([label(x, "a"), label(y, "ab"), label(other, dims)], syms)
    gx, gy = torch.autograd.grad(logz, (x, y))
    assert torch.isfinite(gx).all() and torch.isfinite(gy).all()
    assert gx[0] == 0 and torch.equal(gy[0], torch.zeros(4))
    # a second computation without the impossible row
    x2 = x.detach()[1:].clone().requires_grad_()
    y2 = y0[1:].clone().requires_grad_()
    if join == "table":
        joint = x2[:, None] + y2 + other[1:]
    else:
        joint = (x2[:, None] + y2)[:, :, None] + other
    want = joint.reshape(-1).logsumexp(0)
    torch.testing.assert_close(logz, want)
    wx, wy = torch.autograd.grad(want, (x2, y2))
    torch.testing.assert_close(gx[1:], wx)
    torch.testing.assert_close(gy[1:], wy)


def test_zero_safe_log_gradient():
    from pyro.ops.special import zero_safe_log

    x = torch.tensor([0.0, 1e-30, 2.0], dtype=torch.float64, requires_grad=True)
    y = zero_safe_log(x)
    assert torch.equal(y, x.detach().log())
    (g,) = torch.autograd.grad(y, x, torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64))
    # exact 1 / x on positive entries (however small), 0 where no gradient reaches log(0)
    torch.testing.assert_close(g, torch.tensor([0.0, 1e30, 0.5], dtype=torch.float64))
    (g2,) = torch.autograd.grad(zero_safe_log(x[1:]).sum(), x)
    torch.testing.assert_close(g2, torch.tensor([0.0, 1e30, 0.5], dtype=torch.float64))
