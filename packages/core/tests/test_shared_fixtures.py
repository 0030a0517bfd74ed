"""pyro.testing_fixtures: each test starts from an empty ParamStore, seed 0 and validation
on, whatever the previous test left behind (run twice: each run pollutes the state the
other one checks)."""
import numpy as np
import pytest
import torch

import pyro


@pytest.mark.parametrize("run", [0, 1])
def test_each_test_starts_from_a_fresh_state(run):
    assert len(pyro.get_param_store()) == 0
    assert pyro.is_validation_enabled()
    expected = torch.rand(3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.rand(3), expected)
    assert np.random.rand() == np.random.RandomState(0).rand()
    pyro.param(f"left_behind_{run}", torch.ones(1))
    pyro.enable_validation(False)
