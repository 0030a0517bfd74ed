"""Trace as Pyro's graph (issue 8, item 3): nodes and edges, dense traces, copies, filters,
packed tensors."""
import math

import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine
from pyro.poutine.trace_messenger import identify_dense_edges
from pyro.poutine.trace_struct import Trace, allow_all_sites


def test_add_edge_predecessors_successors_edges():
    tr = Trace()
    tr.add_node("a", type="sample")
    tr.add_edge("a", "b")  # "b" is added with no keys
    tr.add_edge("a", "c")
    tr.add_edge("b", "c")
    assert list(tr.nodes) == ["a", "b", "c"] and tr.nodes["b"] == {}
    assert tr.successors("a") == {"b", "c"} and tr.predecessors("c") == {"a", "b"}
    assert tr.predecessors("a") == set() and tr.successors("c") == set()
    assert sorted(tr.edges) == [("a", "b"), ("a", "c"), ("b", "c")]
    # the sets returned are copies
    tr.successors("a").add("z")
    assert tr.successors("a") == {"b", "c"}
    with pytest.raises(KeyError):
        tr.predecessors("nope")


def test_remove_node_removes_its_edges():
    tr = Trace()
    for a, b in [("a", "b"), ("b", "c"), ("a", "c")]:
        tr.add_edge(a, b)
    tr.remove_node("b")
    assert list(tr.nodes) == ["a", "c"]
    assert sorted(tr.edges) == [("a", "c")]
    assert tr.successors("a") == {"c"} and tr.predecessors("c") == {"a"}
    with pytest.raises(KeyError):
        tr.remove_node("b")


def test_copy_is_shallow_and_keeps_edges():
    tr = Trace(graph_type="dense")
    tr.add_node("a", type="sample", value=torch.tensor(1.0))
    tr.add_edge("a", "b")
    new = tr.copy()
    assert new.graph_type == "dense" and sorted(new.edges) == [("a", "b")]
    assert new.nodes["a"] is not tr.nodes["a"]
    assert new.nodes["a"]["value"] is tr.nodes["a"]["value"]
    new.add_edge("b", "a")
    new.nodes["a"]["value"] = 2.0
    assert sorted(tr.edges) == [("a", "b")] and tr.nodes["a"]["value"].item() == 1.0
    with pytest.raises(ValueError, match="graph_type must be 'flat' or 'dense'"):
        Trace(graph_type="sparse")


def _chain():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    for i in pyro.plate("seq", 2):
        b = pyro.sample(f"b_{i}", dist.Normal(a, 1.0))
        pyro.sample(f"c_{i}", dist.Normal(b, 1.0))
    with pyro.plate("data", 3):
        pyro.sample("d", dist.Normal(a, 1.0))


def test_dense_trace_records_dependency_edges():
    tr = poutine.trace(_chain, graph_type="dense").get_trace()
    assert tr.graph_type == "dense"
    edges = set(tr.edges)
    # every earlier sample site may influence a later one ...
    assert {("a", "b_0"), ("a", "c_0"), ("b_0", "c_0"), ("a", "d"), ("c_1", "d")} <= edges
    # ... except across iterations of one sequential plate
    assert ("b_0", "b_1") not in edges and ("c_0", "b_1") not in edges
    assert ("b_0", "c_1") not in edges
    # plate subsample sites take no part
    assert not any("seq" in e or "data" in e for e in edges)
    assert tr.predecessors("d") == {"a", "b_0", "c_0", "b_1", "c_1"}
    assert tr.successors("c_1") == {"d"}
    # a flat trace has none
    assert list(poutine.trace(_chain).get_trace().edges) == []


def test_identify_dense_edges_on_a_flat_trace():
    tr = poutine.trace(_chain).get_trace()
    identify_dense_edges(tr)
    assert set(tr.edges) == set(poutine.trace(_chain, graph_type="dense").get_trace().edges)


def test_log_prob_with_site_filter():
    def model():
        pyro.sample("a", dist.Normal(0.0, 1.0), obs=torch.tensor(1.0))
        pyro.sample("b", dist.Normal(0.0, 2.0), obs=torch.tensor(2.0))

    tr = poutine.trace(model).get_trace()
    only_b = tr.log_prob_sum(site_filter=lambda name, site: name == "b")
    # log N(2; 0, 2) = -log(2 sqrt(2 pi)) - 1/2
    assert only_b.item() == pytest.approx(-math.log(2 * math.sqrt(2 * math.pi)) - 0.5)
    tr.compute_log_prob(site_filter=lambda name, site: name == "a")
    assert "log_prob" in tr.nodes["a"] and "log_prob" not in tr.nodes["b"]
    assert tr.nodes["a"]["log_prob"].item() == pytest.approx(-0.5 * math.log(2 * math.pi) - 0.5)
    assert allow_all_sites("a", tr.nodes["a"]) is True
    total = tr.log_prob_sum(allow_all_sites)
    assert total.item() == pytest.approx(tr.nodes["a"]["log_prob"].item() + only_b.item())


def test_detach_and_iter_stochastic_nodes():
    loc = torch.tensor(0.5, requires_grad=True)

    def model():
        with pyro.plate("p", 2):
            pyro.sample("x", dist.Normal(loc, 1.0))
        pyro.sample("y", dist.Normal(loc, 1.0), obs=torch.tensor(0.0))

    tr = poutine.trace(model).get_trace()
    assert tr.nodes["x"]["value"].requires_grad
    assert tr.detach_() is tr and not tr.nodes["x"]["value"].requires_grad
    assert [name for name, _ in tr.iter_stochastic_nodes()] == ["x"]
    assert all(site is tr.nodes[name] for name, site in tr.iter_stochastic_nodes())


def test_symbolize_dims_and_pack_tensors():
    def model():
        with pyro.plate("p", 3):
            with pyro.plate("q", 4, dim=-2):
                pyro.sample("x", dist.Normal(0.0, 1.0), obs=torch.zeros(4, 3))
            pyro.sample("y", dist.Normal(0.0, 1.0))

    tr = poutine.trace(model).get_trace()
    tr.compute_log_prob()
    tr.pack_tensors()
    assert tr.plate_to_symbol == {"p": "a", "q": "c"}
    assert tr.symbol_to_dim == {"a": -1, "c": -2}
    assert tr.nodes["x"]["infer"]["_dim_to_symbol"] == {-1: "a", -2: "c"}
    assert tr.nodes["q"]["infer"]["_dim_to_symbol"] == {-1: "a"}  # q's site is inside p
    packed = tr.nodes["x"]["packed"]
    assert packed["log_prob"]._pyro_dims == "ca" and packed["log_prob"].shape == (4, 3)
    assert torch.equal(packed["log_prob"], tr.nodes["x"]["log_prob"])
    assert packed["mask"] is None
    assert tr.nodes["y"]["packed"]["log_prob"]._pyro_dims == "a"
    # symbols given beforehand (e.g. by the guide) are kept; new plates get the next ones
    tr2 = poutine.trace(model).get_trace()
    tr2.symbolize_dims({"q": "a"})
    assert tr2.plate_to_symbol == {"q": "a", "p": "c"}
    assert tr2.nodes["x"]["infer"]["_dim_to_symbol"] == {-1: "c", -2: "a"}


def test_pack_tensors_names_the_site_of_an_unplated_dim():
    def model():
        pyro.sample("x", dist.Normal(torch.zeros(5), 1.0))  # batch dim 5 outside any plate

    tr = poutine.trace(model).get_trace()
    tr.compute_log_prob()
    with pytest.raises(ValueError, match="packing tensors at site 'x'"):
        tr.pack_tensors()
