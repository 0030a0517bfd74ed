"""The SVI runner of ``pyro.infer.fit`` trains in its own parameter store: the user's
parameters are untouched and the trained ones come back in ``result["param_store"]``."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import fit


def model(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    with pyro.plate("data", len(y)):
        pyro.sample("y", dist.Normal(mu, 1.0), obs=y)


def test_svi_runner_keeps_the_users_store():
    pytest.importorskip("pyro.infer.autoguide")
    pytest.importorskip("pyro.optim")
    pyro.clear_param_store()
    mine = pyro.param("my_weight", torch.tensor(1.5))
    out = fit(model, {"y": torch.tensor([0.5, 1.0])}, algo="svi", num_steps=5,
              num_samples=3, progress_bar=False)
    store = pyro.get_param_store()
    # the same tensor, unchanged, and nothing of the fit leaked into the user's store
    assert list(store.keys()) == ["my_weight"]
    assert store.get_state()["params"]["my_weight"] is mine.unconstrained()
    assert pyro.param("my_weight").item() == 1.5
    trained = out["param_store"]
    assert trained is not store and "my_weight" not in trained
    assert any("mu" in name for name in trained.keys())
    pyro.clear_param_store()
