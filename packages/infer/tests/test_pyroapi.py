"""pyro-api's own test suite (``pyroapi.tests``) run on this project as backend "pyro"."""
import pytest

pytest.importorskip("pyroapi", reason="pyro-api is an optional extra (pyro-core[generic])")
pytest.importorskip("pyro.optim", reason="the suite trains with pyro.optim")

from pyroapi import pyro_backend  # noqa: E402
from pyroapi.tests import *  # noqa: E402, F401, F403


@pytest.fixture
def backend():
    with pyro_backend("pyro"):
        yield
