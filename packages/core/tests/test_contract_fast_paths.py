"""The short cuts of :mod:`pyro.ops.contract` and :mod:`pyro.ops.rings` (two-term
components without the union-find, one-ordinal trees, a log-ring join of two terms of one
table without the size test, an ordinal given as any iterable) give what the general
paths give: the same groups in the same order and the same bits."""
import pytest
import torch

from pyro.ops.contract import _components, _dims, contract_tensor_tree, ubersum
from pyro.ops.rings import LogRing, Ring, label


def _term(dims, shape, seed):
    torch.manual_seed(seed)
    return label(torch.randn(shape, dtype=torch.float64), dims)


def _reference_components(terms, sum_dims):
    # connected groups by brute force: grow each group while a term shares a symbol
    groups, left = [], list(range(len(terms)))
    while left:
        group = [left.pop(0)]
        grew = True
        while grew:
            grew = False
            syms = set().union(*(set(_dims(terms[i])) & sum_dims for i in group))
            for i in list(left):
                if set(_dims(terms[i])) & syms:
                    group.append(i)
                    left.remove(i)
                    grew = True
        groups.append(sorted(group))
    groups.sort(key=lambda g: g[0])
    return [[terms[i] for i in g] for g in groups]


@pytest.mark.parametrize("dims_list, sum_dims", [
    (["ab"], {"a"}),
    (["ab", "bc"], {"b"}),
    (["ab", "cd"], {"a", "c"}),
    (["ab", "ab"], set()),
    (["ab", "cd", "bc"], {"b", "c"}),
    (["a", "b", "c", "ab"], {"a"}),
    (["ab", "c", "cb", "d"], {"b", "c", "d"}),
])
def test_components_match_brute_force(dims_list, sum_dims):
    terms = [_term(d, (2,) * len(d), i) for i, d in enumerate(dims_list)]
    got = _components(terms, sum_dims)
    expected = _reference_components(terms, sum_dims)
    assert [[id(t) for t in g] for g in got] == [[id(t) for t in g] for g in expected]
    assert _components([], sum_dims) == []


def test_unlabelled_scalar_holds_no_symbol():
    assert _dims(torch.tensor(1.0)) == ""
    assert _dims(label(torch.zeros(2), "a")) == "a"


@pytest.mark.parametrize("shapes", [((3, 5), (3, 5)), ((3, 1), (3, 5)), ((1, 5), (3, 1))])
def test_log_join_of_one_table_is_the_general_join(shapes):
    x = _term("ab", shapes[0], 0).requires_grad_()
    y = _term("ab", shapes[1], 1)
    ring = LogRing()
    got = ring._join([x, y], {"a"})
    expected = Ring._join(ring, [x, y], {"a"}) if x.shape == y.shape else None
    joint = (x + y).logsumexp(0)
    assert got._pyro_dims == "b"
    if expected is not None:  # the short cut: bit for bit the general join
        assert torch.equal(got, expected)
    assert torch.allclose(got, joint, rtol=1e-12, atol=1e-12)
    got.sum().backward()
    assert x.grad is not None


def test_contract_one_ordinal_equals_direct_computation():
    x = _term("ep", (3, 7), 2)
    y = _term("ep", (3, 7), 3)
    tree = {frozenset("p"): [x, y]}
    out = contract_tensor_tree(tree, {"e"}, ring=LogRing())
    assert list(out) == [frozenset("p")]
    (term,) = out[frozenset("p")]
    assert term._pyro_dims == "p"
    assert torch.equal(term, (x + y).logsumexp(0))


def test_contract_nested_ordinals_equals_ubersum():
    a = _term("a", (2,), 4)
    ab = _term("abi", (2, 3, 4), 5)
    tree = {frozenset(): [a], frozenset("i"): [ab]}
    out = contract_tensor_tree(tree, {"a", "b"}, ring=LogRing())
    total = sum(t.sum() for ts in out.values() for t in ts)
    (expected,) = ubersum("a,abi->", a.exp(), ab.exp(), batch_dims="i")
    assert torch.allclose(total, expected.log(), rtol=1e-10)


@pytest.mark.parametrize("ordinal", [["i"], ("i",), {"i"}, frozenset("i"), "i"])
def test_product_takes_any_iterable_ordinal(ordinal):
    t = _term("ai", (2, 3), 6)
    ring = LogRing(plate_scale={"i": 2.0})
    out = ring.product(t, ordinal)
    assert out._pyro_dims == "a"
    assert torch.equal(out, t.sum(1) * 2.0)
    assert Ring.product(ring, t, ordinal)._pyro_dims == "a"
