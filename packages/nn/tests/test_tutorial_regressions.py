"""Regressions found by running Pyro's tutorials unchanged (the PyroModule tutorial)."""

import pytest
import torch

import pyro
from pyro.nn import PyroModule, PyroParam
from pyro.nn.module import module_local_param_enabled


def test_module_local_params_setting_context():
    # The modules tutorial writes `with pyro.settings.context(module_local_params=True):`.
    assert pyro.settings.get("module_local_params") is False
    pyro.clear_param_store()
    with pyro.settings.context(module_local_params=True):
        assert module_local_param_enabled()

        class Foo(PyroModule):
            def __init__(self):
                super().__init__()
                self.x = PyroParam(torch.zeros(2))

        Foo().x
        assert "x" not in pyro.get_param_store()
    assert not module_local_param_enabled()
    assert pyro.settings.get("module_local_params") is False


def test_module_local_params_setting_validated():
    with pytest.raises(TypeError, match="module_local_params"):
        pyro.settings.set(module_local_params="yes")
