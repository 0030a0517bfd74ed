"""pyro.ops.provenance: labels flow through torch operations as unions."""
from collections import namedtuple

import pytest
import torch

from pyro.ops.provenance import (
    ProvenanceTensor,
    detach_provenance,
    extract_provenance,
    get_provenance,
    track_provenance,
)


def labelled(name, *shape):
    return ProvenanceTensor(torch.randn(*shape), frozenset({name}))


def test_documented_example():
    a, b, c = labelled("a", 3), labelled("b", 3), torch.randn(3)
    assert get_provenance(a + b + c) == frozenset({"a", "b"})
    assert get_provenance(a + detach_provenance(b) + c) == frozenset({"a"})


def test_values_are_those_of_the_wrapped_tensor():
    x = torch.randn(2, 3)
    a = ProvenanceTensor(x, frozenset({"a"}))
    assert isinstance(a, ProvenanceTensor)
    assert torch.equal(detach_provenance(a @ a.T), x @ x.T)
    assert type(detach_provenance(a)) is torch.Tensor
    assert a.shape == (2, 3) and a.dim() == 2 and len(a) == 2
    assert float(a.sum()) == pytest.approx(float(x.sum()))
    assert "Provenance:\nfrozenset({'a'})" in repr(a)


def test_empty_provenance_returns_the_tensor_and_nesting_merges():
    x = torch.randn(3)
    assert ProvenanceTensor(x, frozenset()) is x
    ab = ProvenanceTensor(labelled("a", 3), frozenset({"b"}))
    assert get_provenance(ab) == frozenset({"a", "b"})
    assert type(ab._t) is torch.Tensor
    with pytest.raises(TypeError, match="frozenset"):
        ProvenanceTensor(x, {"a"})


def test_operations_reductions_indexing_and_distributions():
    a, i = labelled("a", 4), ProvenanceTensor(torch.tensor([0, 2]), frozenset({"i"}))
    assert get_provenance(a.sum()) == {"a"}
    assert get_provenance(torch.cat([a, torch.ones(2)])) == {"a"}
    assert get_provenance(a[0]) == {"a"}
    assert get_provenance(torch.zeros(4)[i]) == {"i"}
    assert get_provenance(a[i]) == {"a", "i"}
    values, indices = torch.max(a, 0)
    assert get_provenance(values) == get_provenance(indices) == {"a"}
    loc, scale = labelled("loc", 3), labelled("scale", 3).exp()
    d = torch.distributions.Normal(loc, scale)
    assert get_provenance(d.sample()) == {"loc", "scale"}
    assert get_provenance(d.log_prob(torch.zeros(3))) == {"loc", "scale"}
    assert get_provenance(a.shape) == frozenset()


def test_gradients_flow_through_the_wrapper():
    x = torch.ones(2, requires_grad=True)
    (ProvenanceTensor(x, frozenset({"x"})) * 3).sum().backward()
    assert torch.equal(x.grad, torch.full((2,), 3.0))


def test_structures():
    Pair = namedtuple("Pair", ["tensor", "other"])
    tracked = track_provenance(
        {"u": torch.ones(2), "v": [torch.zeros(1), "text"], "w": Pair(torch.ones(1), 2)},
        frozenset({"q"}),
    )
    assert get_provenance(tracked["u"]) == {"q"} and tracked["v"][1] == "text"
    assert isinstance(tracked["w"], Pair) and tracked["w"].other == 2
    assert get_provenance(tracked["w"].tensor) == {"q"}
    assert get_provenance(tracked) == {"q"}
    assert track_provenance(3, frozenset({"q"})) == 3
    detached, provenance = extract_provenance({"x": labelled("a", 2), "y": (labelled("b", 1), 1)})
    assert provenance == {"a", "b"}
    assert type(detached["x"]) is torch.Tensor and type(detached["y"][0]) is torch.Tensor
    assert detached["y"][1] == 1
    assert get_provenance(3.0) == frozenset()
    # adding to a labelled tensor unions labels
    assert get_provenance(track_provenance(labelled("a", 1), frozenset({"b"}))) == {"a", "b"}
