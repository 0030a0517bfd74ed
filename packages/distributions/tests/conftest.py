"""Shared setup of pyro-distributions' tests."""
import pytest
import torch

from pyro.util import validation_enabled


def pytest_configure(config):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_and_validate():
    torch.manual_seed(0)
    # Pyro's one switch: its own checks and torch's validate_args default, restored after
    with validation_enabled(True):
        yield
