"""Shared setup of pyro-autoguide's tests: one intra-op thread, and every test starts from an
empty ParamStore, a fixed RNG seed and validation on (as the acceptance suite does)."""
import pytest
import torch

import pyro


def pytest_configure(config):
    # The tensors here are tiny; extra threads only slow a shared 2-core machine down.
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def fresh_pyro_state():
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    pyro.enable_validation(True)
    yield
    pyro.clear_param_store()
    pyro.enable_validation(True)
