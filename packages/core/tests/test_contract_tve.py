"""pyro.ops.contract / pyro.ops.einsum / pyro.ops.rings against torch.einsum and against
brute-force sums with every plate unrolled."""
import itertools

import pytest
import torch

from pyro.ops import rings
from pyro.ops.contract import (
    contract_tensor_tree,
    contract_to_tensor,
    einsum,
    naive_ubersum,
    ubersum,
)
from pyro.ops.einsum import contract, contract_expression, torch_log, torch_map
from pyro.ops.rings import LinearRing, LogRing, MapRing, SampleRing, label

EQUATIONS = [
    "a,ab,bc->",
    "ab,bc,cd,de->ae",
    "ab,ab->ab",
    "aa,ab->b",
    "abc,cd,b->ad",
    "a,b,c->abc",
]


def operands_for(equation, sizes="abcde", n=(2, 3, 4, 2, 3)):
    dim = dict(zip(sizes, n))
    inputs = equation.split("->")[0].split(",")
    return [torch.rand(*(dim[s] for s in term)) + 0.1 for term in inputs]


@pytest.mark.parametrize("equation", EQUATIONS)
def test_contract_matches_torch_einsum(equation):
    torch.manual_seed(0)
    ops = operands_for(equation)
    expected = torch.einsum(equation, *ops)
    assert torch.allclose(contract(equation, *ops), expected, rtol=1e-5)
    logs = [x.log() for x in ops]
    assert torch.allclose(torch_log.einsum(equation, *logs), expected.log(), atol=1e-5)
    (multi,) = einsum(equation, *ops)
    assert torch.allclose(multi, expected, rtol=1e-5)


def test_map_backend_is_max_plus():
    torch.manual_seed(1)
    a, b, c = torch.randn(3, 4), torch.randn(4, 5), torch.randn(5)
    got = torch_map.einsum("ab,bc,c->a", a, b, c)
    expected = (a[:, :, None] + b[None] + c).amax((1, 2))
    assert torch.allclose(got, expected)


def test_tensordot_and_expression():
    torch.manual_seed(2)
    x, y = torch.randn(2, 3, 4), torch.randn(3, 4, 5)
    assert torch.allclose(torch_log.tensordot(x, y, 2),
                          torch.tensordot(x.exp(), y.exp(), 2).log(), atol=1e-5)
    expr = contract_expression("ab,bc->ac", (2, 3), (3, 4))
    a, b = torch.rand(2, 3), torch.rand(3, 4)
    assert torch.allclose(expr(a, b), a @ b)
    with pytest.raises(ValueError, match="expected shapes"):
        expr(b, a)


UBER = [
    ("a,ab,bci->", "i"),
    ("a,ab,bci->i", "i"),
    ("a,ab,bci->a", "i"),
    ("a,ab,bci,cidj->", "ij"),
    ("a,ab,bci,cidj->ij", "ij"),
    ("a,ab,bci,cidj->b", "ij"),
    ("ai,bi,abi->", "i"),
]


@pytest.mark.parametrize("equation,batch_dims", UBER)
@pytest.mark.parametrize("backend", ["torch", "pyro.ops.einsum.torch_log"])
def test_ubersum_matches_unrolled_plates(equation, batch_dims, backend):
    torch.manual_seed(3)
    sizes = {"a": 2, "b": 3, "c": 2, "d": 2, "i": 3, "j": 2}
    inputs = equation.split("->")[0].split(",")
    ops = [torch.rand(*(sizes[s] for s in term)) + 0.2 for term in inputs]
    if backend != "torch":
        ops = [x.log() for x in ops]
    (fast,) = ubersum(equation, *ops, batch_dims=batch_dims, backend=backend)
    (slow,) = naive_ubersum(equation, *ops, batch_dims=batch_dims, backend=backend)
    assert fast.shape == slow.shape
    assert torch.allclose(fast, slow, rtol=1e-4, atol=1e-5)


def test_ubersum_rejects_a_local_output_variable():
    x, y, z = torch.rand(3), torch.rand(3, 4), torch.rand(4, 5, 2)
    with pytest.raises(ValueError, match="local to plates"):
        ubersum("a,ab,bci->ci", x, y, z, batch_dims="i")


def test_contract_tensor_tree_global_and_local_variables():
    torch.manual_seed(4)
    pz = label(torch.randn(3), "z")
    py = label(torch.randn(3, 4, 5), "zyi")       # y_i | z, in plate i (5 elements)
    px = label(torch.randn(4, 5), "yi")
    tree = {frozenset(): [pz], frozenset("i"): [py, px]}
    out = contract_tensor_tree(tree, {"z", "y"})
    assert list(out) == [frozenset()]
    (term,) = out[frozenset()]
    local = (py + px).logsumexp(1)                # (z, i)
    expected = (pz + local.sum(-1)).logsumexp(0)
    assert torch.allclose(term, expected)
    total = contract_to_tensor(tree, {"z", "y"})
    assert torch.allclose(total, expected)


def test_frozen_variables_are_carried():
    torch.manual_seed(5)
    g = label(torch.randn(2, 3), "gz")
    f = label(torch.randn(3), "z")
    out = contract_tensor_tree({frozenset(): [g, f]}, {"z"})
    (term,) = out[frozenset()]
    assert term._pyro_dims == "g"
    assert torch.allclose(term, (g + f).logsumexp(-1))


def test_non_tree_plates_raise():
    a = label(torch.randn(2, 3), "ai")
    b = label(torch.randn(2, 4), "bj")
    c = label(torch.randn(2, 2, 3, 4), "abij")
    with pytest.raises(ValueError, match="form a tree"):
        contract_tensor_tree({frozenset("i"): [a], frozenset("j"): [b],
                              frozenset("ij"): [c]}, {"a", "b"})


def test_subsampled_plate_scale():
    f = label(torch.randn(3, 4), "zi")
    ring = LogRing(plate_scale={"i": 2.5})
    pz = label(torch.randn(3), "z")
    tree = {frozenset(): [pz], frozenset("i"): [f]}
    (term,) = contract_tensor_tree(tree, {"z"}, ring=ring)[frozenset()]
    assert torch.allclose(term, (pz + 2.5 * f.sum(-1)).logsumexp(0))


def test_chain_sumproduct_keeps_intermediates_small(monkeypatch):
    # 12 binary-ish factors in a chain of 5-state variables: the joint has 5**12 entries
    k, n = 5, 12
    syms = "abcdefghijklm"
    terms = [label(torch.randn(k, k), syms[t] + syms[t + 1]) for t in range(n)]
    largest = [0]
    join = rings.Ring._join

    def spy(self, ts, sum_dims):
        out = join(self, ts, sum_dims)
        largest[0] = max([largest[0], out.numel()] + [t.numel() for t in ts])
        return out

    monkeypatch.setattr(rings.Ring, "_join", spy)
    result = LogRing().sumproduct(terms, set(syms))
    expected = torch.zeros(k)
    for t in terms:
        expected = (expected[:, None] + t).logsumexp(0)
    assert torch.allclose(result, expected.logsumexp(0), atol=1e-4)
    assert largest[0] <= k ** 3


def test_map_ring_backward_is_the_argmax():
    torch.manual_seed(6)
    a = label(torch.randn(3), "a")
    ab = label(torch.randn(3, 4), "ab")
    bc = label(torch.randn(4, 2), "bc")
    ring = MapRing()
    best = ring.sumproduct([a, ab, bc], {"a", "b", "c"})
    values = ring.backward()
    joint = a[:, None, None] + ab[:, :, None] + bc[None]
    flat = joint.reshape(-1).argmax()
    expected = [flat // 8, (flat // 2) % 4, flat % 2]
    assert [values[s].item() for s in "abc"] == [int(e) for e in expected]
    assert torch.allclose(best, joint.max())


def test_sample_ring_draws_from_the_joint_posterior():
    torch.manual_seed(7)
    a = label(torch.randn(2), "a")
    ab = label(torch.randn(2, 3), "ab")
    joint = (a[:, None] + ab).reshape(-1).softmax(0)
    n = 4000
    counts = torch.zeros(6)
    for _ in range(n):
        ring = SampleRing()
        ring.sumproduct([a, ab], {"a", "b"})
        v = ring.backward()
        counts[v["a"] * 3 + v["b"]] += 1
    freq = counts / n
    # 5 standard errors of a binomial proportion
    assert torch.all((freq - joint).abs() < 5 * (joint * (1 - joint) / n).sqrt() + 1e-3)


def test_sample_ring_with_plates_conditions_locals_on_globals():
    torch.manual_seed(8)
    pz = label(torch.tensor([0.0, 0.0]), "z")
    # y_i | z strongly tied: y_i == z almost surely
    tie = torch.tensor([[0.0, -20.0], [-20.0, 0.0]])
    py = label(tie[:, :, None].expand(2, 2, 4).clone(), "zyi")
    ring = SampleRing()
    contract_tensor_tree({frozenset(): [pz], frozenset("i"): [py]}, {"z", "y"}, ring=ring)
    v = ring.backward()
    assert v["y"]._pyro_dims == "i" and v["y"].shape == (4,)
    assert torch.all(v["y"] == v["z"])


def test_linear_ring_product_and_broadcast():
    ring = LinearRing(dim_to_size={"i": 3})
    t = label(torch.tensor([2.0, 3.0]), "a")
    b = ring.broadcast(t, frozenset("i"))
    assert b._pyro_dims == "ia" and b.shape == (3, 2)
    p = ring.product(b, frozenset("i"))
    assert torch.allclose(p, torch.tensor([8.0, 27.0]))
    assert torch.allclose(ring.inv(t), torch.tensor([0.5, 1 / 3]))


def test_unlabelled_terms_are_rejected():
    with pytest.raises(ValueError, match="_pyro_dims"):
        LogRing().sumproduct([torch.randn(2)], set())


def test_every_unrolled_assignment():
    # naive_ubersum itself against an explicit loop over every assignment
    torch.manual_seed(9)
    x, y = torch.rand(2), torch.rand(2, 2, 3)  # a; a, b_i in plate i of 3
    (naive,) = naive_ubersum("a,abi->", x, y, batch_dims="i")
    total = 0.0
    for a in range(2):
        for bs in itertools.product(range(2), repeat=3):
            term = x[a]
            for i, b in enumerate(bs):
                term = term * y[a, b, i]
            total += term
    assert torch.allclose(naive, torch.as_tensor(total))


def test_adjoint_map_backward_through_chained_einsums():
    from pyro.ops.einsum import torch_map
    from pyro.ops.einsum.adjoint import require_backward

    torch.manual_seed(10)
    x, y, z = torch.randn(3, 4), torch.randn(4, 5), torch.randn(5, 2)
    for t in (x, y, z):
        require_backward(t)
    m = torch_map.einsum("ab,bc->c", x, y)
    out = torch_map.einsum("c,cd->", m, z)
    out._pyro_backward()
    joint = x[:, :, None, None] + y[None, :, :, None] + z[None, None]
    best = torch.unravel_index(joint.argmax(), joint.shape)
    got = (x._pyro_backward_result["a"], x._pyro_backward_result["b"],
           z._pyro_backward_result["c"], z._pyro_backward_result["d"])
    assert [int(g) for g in got] == [int(b) for b in best]
    assert y._pyro_backward_result["b"] == x._pyro_backward_result["b"]
    assert torch.allclose(out, joint.max())


def test_adjoint_sample_frequencies():
    from pyro.ops.einsum import torch_sample
    from pyro.ops.einsum.adjoint import require_backward

    torch.manual_seed(11)
    x = torch.randn(2, 3)
    exact = x.reshape(-1).softmax(0)
    n = 3000
    counts = torch.zeros(6)
    for _ in range(n):
        require_backward(x)
        torch_sample.einsum("ab->", x)._pyro_backward()
        r = x._pyro_backward_result
        counts[r["a"] * 3 + r["b"]] += 1
    freq = counts / n
    assert torch.all((freq - exact).abs() < 5 * (exact * (1 - exact) / n).sqrt() + 1e-3)


def test_unflatten_and_split_samples():
    from pyro.ops.einsum.adjoint import einsum_backward_sample, unflatten

    flat = label(torch.tensor([0, 5, 11]), "i")
    parts = unflatten(flat, "i", "ab", (3, 4))
    assert parts["a"].tolist() == [0, 1, 2] and parts["b"].tolist() == [0, 1, 3]
    ops = [label(torch.zeros(3, 4), "ab"), label(torch.zeros(4), "b")]
    split = einsum_backward_sample(ops, {"a": parts["a"]}, {"b": parts["b"]})
    assert set(split[0]) == {"a", "b"} and set(split[1]) == {"b"}
    with pytest.raises(ValueError, match="both samples"):
        einsum_backward_sample(ops, {"a": parts["a"]}, {"a": parts["a"]})


def test_marginal_ring_gives_posterior_marginals():
    from pyro.ops.rings import MarginalRing

    torch.manual_seed(12)
    ring = MarginalRing()
    a = ring.require_marginal(label(torch.randn(3), "a"))
    ab = ring.require_marginal(label(torch.randn(3, 4), "ab"))
    bc = ring.require_marginal(label(torch.randn(4, 2), "bc"))
    log_z = ring.sumproduct([a, ab, bc], {"a", "b", "c"})
    m_a, m_ab, m_bc = ring.marginals(log_z, [a, ab, bc])
    joint = (a[:, None, None] + ab[:, :, None] + bc[None]).detach()
    post = (joint - joint.logsumexp((0, 1, 2))).exp()
    assert torch.allclose(m_a, post.sum((1, 2)), atol=1e-5)
    assert torch.allclose(m_ab, post.sum(2), atol=1e-5)
    assert torch.allclose(m_bc, post.sum(0), atol=1e-5)
    assert m_ab._pyro_dims == "ab"


def test_einsum_multiple_outputs_and_plates():
    torch.manual_seed(13)
    x, y = torch.rand(3), torch.rand(3, 4)
    out_a, out_b = einsum("a,ab->a,b", x, y)
    assert torch.allclose(out_a, torch.einsum("a,ab->a", x, y))
    assert torch.allclose(out_b, torch.einsum("a,ab->b", x, y))
    (plated,) = einsum("a,ai->", x, y, plates="i")
    assert torch.allclose(plated, (x * y.prod(1)).sum())


def test_log_ring_pairwise_join_is_stable_and_exact():
    torch.manual_seed(14)
    x = torch.randn(3, 4) * 50 + 1000.0   # exp would overflow without the shift
    y = torch.randn(4, 5) * 50 - 1000.0
    x[0] = -float("inf")                     # a zero-probability row
    got = LogRing().sumproduct([label(x, "ab"), label(y, "bc")], {"b"})
    expected = (x[:, :, None] + y[None]).logsumexp(1)
    assert got._pyro_dims == "ac"
    assert torch.equal(torch.isinf(got), torch.isinf(expected))
    finite = torch.isfinite(expected)
    assert torch.allclose(got[finite], expected[finite], rtol=1e-6)
