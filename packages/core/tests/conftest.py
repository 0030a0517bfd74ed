"""Test setup of pyro-core: the fixtures shared by every package's tests
(:mod:`pyro.testing_fixtures`: one intra-op thread; each test starts from an empty
ParamStore, RNG seed 0 and validation on)."""
import pytest

import pyro.plugins as plugins
from pyro.plugins.manager import _invalidate
from pyro.testing_fixtures import fresh_pyro_state, pytest_configure, run_readme_example  # noqa: F401


@pytest.fixture
def hand_registered():
    """``hand_registered(plugin, name)`` registers a plugin for one test and removes it
    (and the registries built with it) afterwards."""
    names = []

    def add(plugin, name):
        names.append(plugins.register(plugin, name=name))

    yield add
    for name in names:
        plugins.unregister(name=name)
    _invalidate()
