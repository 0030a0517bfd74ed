"""pyro.generic: pyro-api's dispatch with this project as the "pyro" backend."""
import importlib
import sys

import pytest
import torch

import pyro


def test_pyro_backend_resolves_to_this_project():
    pytest.importorskip("pyroapi", reason="pyro-api is an optional extra (pyro-core[generic])")
    from pyro.generic import handlers, ops, pyro_backend
    from pyro.generic import pyro as generic_pyro

    with pyro_backend("pyro"):
        assert generic_pyro.sample is pyro.sample and generic_pyro.plate is pyro.plate
        assert handlers.trace is pyro.poutine.trace
        assert ops.tensor is torch.tensor

        def model():
            with generic_pyro.plate("data", 4):
                return generic_pyro.sample("x", torch.distributions.Normal(0.0, 1.0))

        # the backend context seeds the RNG (pyro-api's DEFAULT_RNG_SEED): runs repeat
        first = model()
        tr = handlers.trace(model).get_trace()
        assert tr.nodes["x"]["value"].shape == (4,)
    with pyro_backend("pyro"):
        assert torch.equal(model(), first)


def test_register_backend_aliases_this_project():
    pytest.importorskip("pyroapi", reason="pyro-api is an optional extra (pyro-core[generic])")
    from pyro.generic import pyro as generic_pyro
    from pyro.generic import pyro_backend, register_backend

    register_backend("test_alias", {"pyro": "pyro"})
    with pyro_backend("test_alias"):
        assert generic_pyro.param is pyro.param


def test_missing_pyro_api_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyroapi", None)
    monkeypatch.delitem(sys.modules, "pyro.generic", raising=False)
    with pytest.raises(ImportError, match=r"pip install pyro-core\[generic\]"):
        importlib.import_module("pyro.generic")
