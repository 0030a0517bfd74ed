"""pyro.infer.inspect on small models with known graphs (expected values are Pyro's
documented examples and pyro-ppl 1.9.2's answers on the same models)."""
import sys

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.inspect import (
    get_dependencies,
    get_model_relations,
    is_sample_site,
    render_model,
)


def model_1():
    a = pyro.sample("a", dist.Normal(0, 1))
    pyro.sample("b", dist.Normal(a, 1), obs=torch.tensor(0.0))


def model_2():
    a = pyro.sample("a", dist.Normal(0, 1))
    b = pyro.sample("b", dist.LogNormal(0, 1))
    c = pyro.sample("c", dist.Normal(a, b))
    pyro.sample("d", dist.Normal(c, 1), obs=torch.tensor(0.0))


def model_3():
    with pyro.plate("p", 5):
        a = pyro.sample("a", dist.Normal(0, 1))
    pyro.sample("b", dist.Normal(a.sum(), 1), obs=torch.tensor(0.0))


def test_documented_examples():
    assert get_dependencies(model_1) == {
        "prior_dependencies": {"a": {"a": set()}, "b": {"a": set(), "b": set()}},
        "posterior_dependencies": {"a": {"a": set(), "b": set()}},
    }
    assert get_dependencies(model_2) == {
        "prior_dependencies": {
            "a": {"a": set()},
            "b": {"b": set()},
            "c": {"a": set(), "b": set(), "c": set()},
            "d": {"c": set(), "d": set()},
        },
        "posterior_dependencies": {
            "a": {"a": set(), "b": set(), "c": set()},
            "b": {"b": set(), "c": set()},
            "c": {"c": set(), "d": set()},
        },
    }
    assert get_dependencies(model_3) == {
        "prior_dependencies": {"a": {"a": set()}, "b": {"a": set(), "b": set()}},
        "posterior_dependencies": {"a": {"a": {"p"}, "b": set()}},
    }


def test_plates_in_posterior_dependencies():
    def nested():
        with pyro.plate("p", 3):
            a = pyro.sample("a", dist.Normal(0, 1))
            with pyro.plate("q", 2, dim=-2):
                b = pyro.sample("b", dist.Normal(a, 1))
        pyro.sample("c", dist.Normal(b.sum(), 1), obs=torch.tensor(0.0))

    assert get_dependencies(nested)["posterior_dependencies"] == {
        "a": {"a": set(), "b": set()},
        "b": {"b": {"p", "q"}, "c": set()},
    }

    def crossed():
        with pyro.plate("p", 3):
            a = pyro.sample("a", dist.Normal(0, 1))
        with pyro.plate("q", 4):
            b = pyro.sample("b", dist.Normal(0, 1))
        with pyro.plate("p2", 3, dim=-1), pyro.plate("q2", 4, dim=-2):
            pyro.sample("c", dist.Normal(a + b[:, None], 1), obs=torch.zeros(4, 3))

    assert get_dependencies(crossed) == {
        "prior_dependencies": {
            "a": {"a": set()}, "b": {"b": set()}, "c": {"c": set(), "a": set(), "b": set()},
        },
        "posterior_dependencies": {
            "a": {"a": {"p"}, "c": set(), "b": set()}, "b": {"b": {"q"}, "c": set()},
        },
    }


def test_observed_values_are_data_and_deltas_are_elided():
    def obs_upstream():
        x = pyro.sample("x", dist.Normal(0, 1), obs=torch.tensor(1.0))
        pyro.sample("y", dist.Normal(x, 1))

    assert get_dependencies(obs_upstream) == {
        "prior_dependencies": {"x": {"x": set()}, "y": {"y": set()}},
        "posterior_dependencies": {"y": {"y": set()}},
    }

    def with_delta():
        a = pyro.sample("a", dist.Normal(0, 1))
        b = pyro.sample("b", dist.Delta(a * 2))
        d = pyro.deterministic("d", b + 1)
        pyro.sample("c", dist.Normal(d, 1), obs=torch.tensor(0.0))

    assert get_dependencies(with_delta) == {
        "prior_dependencies": {"a": {"a": set()}, "c": {"c": set(), "a": set()}},
        "posterior_dependencies": {"a": {"a": set(), "c": set()}},
    }


def test_include_deterministic_keeps_them_as_nodes():
    def chain():
        c = pyro.sample("c", dist.Normal(0, 1))
        d = pyro.deterministic("d", c * 2)
        pyro.sample("e", dist.Normal(d, 1), obs=torch.tensor(0.0))

    assert get_dependencies(chain, include_deterministic=True) == {
        "prior_dependencies": {
            "c": {"c": set()}, "d": {"d": set(), "c": set()}, "e": {"e": set(), "d": set()},
        },
        "posterior_dependencies": {"c": {"c": set(), "d": set()}, "d": {"d": set(), "e": set()}},
    }


def test_discrete_masked_and_partially_observed_sites():
    def model():
        z = pyro.sample("z", dist.Bernoulli(0.5))
        a = pyro.sample("a", dist.Normal(z, 1))
        pyro.sample("y", dist.Normal(a, 1).expand([3]).to_event(1), obs=torch.zeros(3),
                    obs_mask=torch.tensor([True, False, True]))

    deps = get_dependencies(model)
    assert deps["prior_dependencies"]["a"] == {"a": set(), "z": set()}
    assert deps["prior_dependencies"]["y_observed"] == {"y_observed": set(), "a": set()}
    assert deps["posterior_dependencies"]["a"] == {
        "a": set(), "y_observed": set(), "y_unobserved": set(),
    }
    assert deps["posterior_dependencies"]["y_unobserved"] == {"y_unobserved": set()}


def test_inspection_leaves_rng_and_validation_alone():
    pyro.set_rng_seed(1)
    expected = torch.randn(3)
    pyro.set_rng_seed(1)
    with pyro.validation_enabled(True):
        get_dependencies(model_2)
        assert pyro.is_validation_enabled()
    assert torch.equal(torch.randn(3), expected)


def param_model(data):
    s = pyro.param("s", torch.tensor(1.0), constraint=dist.constraints.positive)
    m = pyro.sample("m", dist.Normal(0, s))
    sd = pyro.sample("sd", dist.LogNormal(m, 1))
    pyro.sample("z", dist.Normal(torch.zeros(2), 1).to_event(1))
    t = pyro.deterministic("t", sd * 2)
    with pyro.plate("N", len(data)):
        pyro.sample("obs", dist.Normal(m, t).mask(True), obs=data)
    pyro.factor("f", -(m**2))


def test_model_relations():
    assert get_model_relations(param_model, (torch.ones(3),)) == {
        "sample_sample": {"m": [], "sd": ["m"], "z": [], "obs": ["m", "sd"], "f": ["m"]},
        "sample_param": {"m": ["s"], "sd": [], "z": [], "obs": [], "f": []},
        "sample_dist": {"m": "Normal", "sd": "LogNormal", "z": "Normal", "obs": "Normal",
                        "f": "Unit"},
        "param_constraint": {"s": "GreaterThan(lower_bound=0.0)"},
        "plate_sample": {"N": ["obs"]},
        "observed": ["obs", "f"],
    }
    with_t = get_model_relations(param_model, (torch.ones(3),), include_deterministic=True)
    assert with_t["sample_sample"]["t"] == ["sd"] and with_t["sample_sample"]["obs"] == ["m", "t"]
    assert with_t["sample_dist"]["t"] == "Deterministic" and "t" in with_t["observed"]


def test_is_sample_site():
    def model():
        a = pyro.sample("a", dist.Normal(0, 1))
        pyro.sample("b", dist.Delta(a))
        pyro.deterministic("c", a)
        pyro.sample("d", dist.Delta(a).mask(False))
        pyro.sample("e", dist.Normal(a, 1), obs=torch.tensor(1.0))
        with pyro.plate("p", 10, subsample_size=3):
            pass
        pyro.param("q", torch.ones(1))

    tr = poutine.trace(model).get_trace()
    plain = {n for n, s in tr.nodes.items() if is_sample_site(s)}
    every = {n for n, s in tr.nodes.items() if is_sample_site(s, include_deterministic=True)}
    assert plain == {"a", "e"}
    assert every == {"a", "b", "c", "d", "e"}


def test_render_model_graph():
    graphviz = pytest.importorskip("graphviz", reason="render_model needs graphviz")
    graph = render_model(param_model, (torch.ones(3),), render_distributions=True,
                         render_params=True, render_deterministic=True)
    assert isinstance(graph, graphviz.Digraph)
    src = graph.source
    assert "m [label=m fillcolor=white shape=ellipse style=filled]" in src
    assert 't [label=t fillcolor=gray shape=ellipse style="filled,dashed"]' in src
    assert "s [label=s fillcolor=white shape=plain style=filled]" in src
    assert "subgraph cluster_N {" in src and "label=N labeljust=r labelloc=b" in src
    for edge in ("m -> sd", "sd -> t", "m -> obs", "t -> obs", "m -> f", "s -> m"):
        assert edge in src
    assert "sd -> obs" not in src
    assert ('distribution_description_node [label="m ~ Normal\\lsd ~ LogNormal\\lz ~ Normal'
            '\\lt ~ Deterministic\\lobs ~ Normal\\lf ~ Unit\\ls : GreaterThan(lower_bound=0.0)'
            '\\l" shape=plaintext]') in src

    plain = render_model(param_model, (torch.ones(3),)).source
    assert "sd -> obs" in plain and " t [" not in plain and "s -> m" not in plain
    assert "distribution_description_node" not in plain


def test_render_model_nested_plates_and_semisupervised_runs():
    pytest.importorskip("graphviz", reason="render_model needs graphviz")

    def model(x, y=None):
        with pyro.plate("N", 3):
            z = pyro.sample("z", dist.Normal(0, 1))
            with pyro.plate("D", 2, dim=-2):
                pyro.sample("x", dist.Normal(z, 1), obs=x)
            pyro.sample("y", dist.Bernoulli(logits=z), obs=y)

    x = torch.ones(2, 3)
    src = render_model(model, model_args=[(x,), (x,)],
                       model_kwargs=[{"y": torch.ones(3)}, {}]).source
    assert 'y [label=y fillcolor="gray:white"' in src  # observed in one run of two
    assert "x [label=x fillcolor=gray" in src and "z [label=z fillcolor=white" in src
    # x is drawn once, in cluster D nested inside cluster N
    assert src.count("x [label=x") == 1
    n, d, x_node = src.index("cluster_N"), src.index("cluster_D"), src.index("x [label=x")
    assert n < d < x_node
    with pytest.raises(ValueError, match="2 runs but model_kwargs has 3"):
        render_model(model, model_args=[(x,), (x,)], model_kwargs=[{}, {}, {}])


def test_render_model_writes_the_file_format_of_its_suffix(tmp_path, monkeypatch):
    graphviz = pytest.importorskip("graphviz", reason="render_model needs graphviz")
    calls = []
    monkeypatch.setattr(graphviz.Digraph, "render",
                        lambda self, *args, **kwargs: calls.append((args, kwargs)))
    render_model(model_1, filename=str(tmp_path / "model.svg"))
    assert calls == [((str(tmp_path / "model"),),
                      {"view": False, "cleanup": True, "format": "svg"})]


def test_render_model_without_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r"pip install pyro-infer\[render\]"):
        render_model(model_1)


def test_top_level_render_model_is_this_one():
    assert pyro.render_model is render_model
