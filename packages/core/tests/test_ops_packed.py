"""pyro.ops.packed: packing/unpacking round trips and packed arithmetic against the same
computation on unpacked (broadcast) tensors."""
import pytest
import torch

from pyro.ops import packed

DIM_TO_SYMBOL = {-3: "a", -2: "b", -1: "c"}
SYMBOL_TO_DIM = {"a": -3, "b": -2, "c": -1}


def _packed(shape, dims, dtype=None):
    t = torch.randn(shape) if dtype is None else torch.randint(0, 3, shape)
    t._pyro_dims = dims
    return t


@pytest.mark.parametrize("shape", [(3, 1, 2), (1, 1, 2), (2,), (3, 4, 1), (1, 4, 2), ()])
def test_pack_unpack_round_trip(shape):
    x = torch.randn(shape)
    p = packed.pack(x, DIM_TO_SYMBOL)
    assert p.dim() == sum(s > 1 for s in shape)
    assert len(p._pyro_dims) == p.dim()
    u = packed.unpack(p, SYMBOL_TO_DIM)
    torch.testing.assert_close(u.reshape(-1), x.reshape(-1))
    assert u.dim() <= 3
    # unpacked again broadcasts exactly like the original
    assert torch.broadcast_shapes(u.shape, (1, 1, 1)) == torch.broadcast_shapes(x.shape, (1, 1, 1))


def test_pack_rejects_unnamed_dims_and_passes_numbers():
    with pytest.raises(ValueError, match="Allowed dims: -1"):
        packed.pack(torch.randn(4, 5), {-1: "c"})
    assert packed.pack(2.0, {}) == 2.0
    assert packed.unpack(2.0, {}) == 2.0
    with pytest.raises(KeyError):
        packed.unpack(packed.pack(torch.randn(2), {-1: "c"}), {"a": -1})


def test_unpack_reorders_dims():
    p = _packed((2, 3), "ca")
    u = packed.unpack(p, SYMBOL_TO_DIM)
    assert u.shape == (3, 1, 2)
    torch.testing.assert_close(u.squeeze(-2), p.T)


def test_mul_broadcast_all_exp_neg_match_unpacked():
    a, b = _packed((3,), "a"), _packed((2, 3), "ba")
    m = packed.mul(a, b)
    assert m._pyro_dims == "ab"
    torch.testing.assert_close(m, a.unsqueeze(-1) * b.T)
    x, y = packed.broadcast_all(a, b)
    assert x._pyro_dims == y._pyro_dims == "ab" and x.shape == y.shape == (3, 2)
    x, y = packed.broadcast_all(a, b, dims="ba")
    assert x.shape == (2, 3)
    assert packed.exp(b)._pyro_dims == "ba"
    torch.testing.assert_close(packed.exp(b), b.exp())
    torch.testing.assert_close(packed.neg(b), -b)
    assert packed.mul(a, 2.0)._pyro_dims == "a"
    assert packed.neg(2.0) == -2.0


def test_gather():
    value = _packed((2, 3), "ba")
    index = torch.tensor([[0, 2], [1, 1]])
    index._pyro_dims = "bd"
    g = packed.gather(value, index, "a")
    assert g._pyro_dims == "bd"
    expected = torch.stack([value[b, index[b]] for b in range(2)])
    torch.testing.assert_close(g, expected)
    flat = torch.tensor([0, 2, 1, 1])
    flat._pyro_dims = "d"
    torch.testing.assert_close(packed.gather(value, flat, "a"), value[:, flat])
    with pytest.raises(ValueError, match="no dim"):
        packed.gather(value, flat, "q")


def test_rename_equation():
    x, y = _packed((2, 3), "xy"), _packed((3, 4), "yz")
    assert packed.rename_equation("ab,bc->ac", x, y) == "xy,yz->xz"
    assert packed.rename_equation("ab,bc->", x, y) == "xy,yz->"
    assert packed.rename_equation("ab,bc", x, y) == "xy,yz"
    with pytest.raises(ValueError, match="does not match"):
        packed.rename_equation("abc,bc->", x, y)
    with pytest.raises(ValueError, match="both"):
        packed.rename_equation("aa,bc->", x, y)


def test_scale_and_mask():
    b = _packed((2, 3), "ba")
    assert packed.scale_and_mask(b) is b
    assert packed.scale_and_mask(b, 1.0, True) is b
    torch.testing.assert_close(packed.scale_and_mask(b, 2.0), 2 * b)
    mask = torch.tensor([True, False, True])
    mask._pyro_dims = "a"
    sm = packed.scale_and_mask(b, 3.0, mask)
    assert sm._pyro_dims == "ab"
    torch.testing.assert_close(sm, (3 * b * mask).T)
    zero = packed.scale_and_mask(b, 1.0, False)
    assert zero._pyro_dims == "ba" and (zero == 0).all()
    inf = torch.tensor([-float("inf"), 1.0])
    inf._pyro_dims = "a"
    m = torch.tensor([False, True])
    m._pyro_dims = "a"
    torch.testing.assert_close(packed.scale_and_mask(inf, 1.0, m), torch.tensor([0.0, 1.0]))
    scale = torch.rand(2) + 0.5
    scale._pyro_dims = "b"
    torch.testing.assert_close(packed.scale_and_mask(b, scale), (b * scale.unsqueeze(-1)).T)
