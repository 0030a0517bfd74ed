"""Shared setup for pyro-optim's tests: one intra-op thread, a fresh ParamStore and RNG."""
import pytest
import torch


def pytest_configure(config):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def fresh_pyro_state():
    import pyro

    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    yield
    pyro.clear_param_store()
