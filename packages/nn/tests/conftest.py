import pytest
import torch

import pyro


def pytest_configure(config):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def fresh_pyro_state():
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    yield
    pyro.clear_param_store()
