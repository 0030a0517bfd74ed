"""pyro.settings, pyro.log, pyro.barrier, pyro.util.save_visualization and the lazy
pyro.render_model attribute."""
import importlib
import io
import logging
import sys

import pytest
import torch
from torch.distributions import Normal

import pyro
import pyro.settings
from pyro import poutine
from pyro.util import is_validation_enabled

MY_SETTING = 1.0


class Holder:
    value = "a"


@pytest.fixture
def registered():
    pyro.settings.register("test_my_setting", __name__, "MY_SETTING")

    @pyro.settings.register("test_deep_setting", __name__, "Holder.value")
    def _validate(value):
        if not isinstance(value, str):
            raise ValueError("needs a str")

    yield
    for alias in ("test_my_setting", "test_deep_setting"):
        pyro.settings._REGISTRY.pop(alias)


def test_get_and_set_module_and_class_attributes(registered):
    global MY_SETTING
    assert pyro.settings.get("test_my_setting") == 1.0
    pyro.settings.set(test_my_setting=2.5, test_deep_setting="b")
    assert MY_SETTING == 2.5 and Holder.value == "b"
    everything = pyro.settings.get()
    assert everything["test_my_setting"] == 2.5 and everything["test_deep_setting"] == "b"
    MY_SETTING, Holder.value = 1.0, "a"


def test_validator_refuses_before_setting(registered):
    with pytest.raises(ValueError, match="needs a str"):
        pyro.settings.set(test_deep_setting=3)
    assert Holder.value == "a"


def test_context_restores_even_after_error_and_works_as_decorator(registered):
    with pytest.raises(RuntimeError):
        with pyro.settings.context(test_my_setting=5.0):
            assert MY_SETTING == 5.0
            raise RuntimeError
    assert MY_SETTING == 1.0

    @pyro.settings.context(test_my_setting=7.0)
    def read():
        return MY_SETTING

    assert read() == 7.0 and read() == 7.0  # reusable decorator
    assert MY_SETTING == 1.0


def test_unknown_alias_and_bad_alias():
    with pytest.raises(KeyError, match="unknown Pyro setting 'no_such_setting'"):
        pyro.settings.get("no_such_setting")
    with pytest.raises(KeyError, match="no_such_setting"):
        pyro.settings.set(no_such_setting=1)
    with pytest.raises(ValueError, match="identifier"):
        pyro.settings.register("not an identifier", __name__, "MY_SETTING")


def test_validation_settings_are_the_validation_switch():
    assert pyro.settings.get("validate_poutine") is True
    with pyro.settings.context(validate_infer=False):
        assert not is_validation_enabled()
        assert pyro.settings.get("validate_poutine") is False
        assert pyro.settings.get("validate_distributions_pyro") is False
    assert is_validation_enabled()
    with pyro.settings.context(validate_distributions_torch=False):
        assert torch.distributions.Distribution._validate_args is False
        Normal(0.0, -1.0)  # not checked
    with pytest.raises(ValueError):
        Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="bool"):
        pyro.settings.set(validate_poutine="yes")
    listed = pyro.settings.get()
    for alias in ("validate_distributions_pyro", "validate_distributions_torch",
                  "validate_infer", "validate_poutine"):
        assert listed[alias] is True


def test_pyro_log_is_the_pyro_logger():
    assert pyro.log is logging.getLogger("pyro")
    assert pyro.log.level == logging.INFO and not pyro.log.propagate
    importlib.reload(sys.modules["pyro.logger"])  # no second handler
    assert len([h for h in pyro.log.handlers if getattr(h, "_pyro_default", False)]) == 1


def test_pyro_log_prints_info_with_its_level():
    handler = sys.modules["pyro.logger"].default_handler
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        pyro.log.info("guessed max_plate_nesting = 1")
        pyro.log.debug("not shown at INFO level")
    finally:
        handler.setStream(old)
    assert buffer.getvalue() == "INFO \t guessed max_plate_nesting = 1\n"


def test_barrier_is_identity_and_effectful():
    x = torch.randn(3)
    assert pyro.barrier(x) is x
    seen = []

    class Grounder(poutine.messenger.Messenger):
        def _pyro_barrier(self, msg):
            seen.append(msg["args"][0])
            msg["value"] = msg["args"][0] * 2
            msg["done"] = True

    with Grounder():
        assert torch.equal(pyro.barrier(x), 2 * x)
    assert seen[0] is x


def test_render_model_names_pyro_infer_when_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyro.infer.inspect", None)
    with pytest.raises(AttributeError, match="pip install pyro-infer"):
        pyro.render_model  # noqa: B018


def test_save_visualization_graph_colors_and_edges(monkeypatch):
    graphviz = pytest.importorskip("graphviz", reason="save_visualization needs graphviz")

    def model():
        a = pyro.sample("a", Normal(0.0, 1.0))
        b = pyro.sample("b", torch.distributions.Poisson(a.exp()))
        pyro.sample("c", Normal(b, 1.0), obs=torch.tensor(0.0))

    tr = poutine.trace(model, graph_type="dense").get_trace()
    graph = pyro.util._trace_graph(tr)
    assert isinstance(graph, graphviz.Digraph)
    src = graph.source
    assert 'a [label=a fillcolor="lightgrey;.5:salmon"' in src  # reparameterized
    assert "b [label=b fillcolor=salmon" in src
    assert "c [label=c fillcolor=darkolivegreen3" in src
    # dense traces link every site to the earlier sites (Pyro's "dense" graph)
    assert {("a", "b"), ("b", "c")} <= set(tr.edges)
    for site1, site2 in tr.edges:
        assert f"{site1} -> {site2}" in src
    rendered = []
    monkeypatch.setattr(graphviz.Digraph, "render",
                        lambda self, *a, **k: rendered.append((a, k)))
    pyro.util.save_visualization(tr, "out")
    assert rendered == [(("out",), {"view": False, "cleanup": True})]


def test_save_visualization_without_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    tr = poutine.trace(lambda: pyro.sample("a", Normal(0.0, 1.0))).get_trace()
    with pytest.raises(ImportError, match="pip install"):
        pyro.util.save_visualization(tr, "out")
