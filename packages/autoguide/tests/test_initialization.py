"""pyro.infer.autoguide.initialization, Pyro's import path for the initialization
strategies, re-exports pyro-infer's one implementation (tested in
packages/infer/tests/test_initialization.py); here: the re-export and its use in guides."""
import pytest
import torch

import pyro
import pyro.distributions as dist
import pyro.infer.autoguide as autoguide
import pyro.infer.autoguide.initialization as initialization
import pyro.infer.initialization as shared
from pyro.infer.autoguide import AutoDelta, AutoNormal

NAMES = ["InitMessenger", "init_to_feasible", "init_to_generated", "init_to_mean",
         "init_to_median", "init_to_sample", "init_to_uniform", "init_to_value"]


def test_reexports_the_shared_implementation():
    assert sorted(initialization.__all__) == sorted(NAMES)
    for name in NAMES:
        assert getattr(initialization, name) is getattr(shared, name)
        assert getattr(autoguide, name) is getattr(shared, name)


def model():
    pyro.sample("s", dist.Gamma(torch.full((2,), 2.0), 4.0).to_event(1))
    pyro.sample("w", dist.Dirichlet(torch.ones(3)))


@pytest.mark.parametrize("guide_class", [AutoNormal, AutoDelta])
def test_guides_start_where_the_strategy_says(guide_class):
    # Gamma(2, 4) has mean 0.5; Dirichlet(1, 1, 1) has mean 1/3 each
    guide = guide_class(model, init_loc_fn=initialization.init_to_mean)
    median = guide.median()
    assert torch.allclose(median["s"], torch.full((2,), 0.5), atol=1e-6)
    assert torch.allclose(median["w"], torch.full((3,), 1 / 3), atol=1e-6)
    pyro.clear_param_store()
    # a per-initialization strategy through init_to_generated
    gen = initialization.init_to_generated(
        generate=lambda: initialization.init_to_value(values={"s": torch.tensor([1.0, 3.0])}))
    median = guide_class(model, init_loc_fn=gen).median()
    assert torch.allclose(median["s"], torch.tensor([1.0, 3.0]), atol=1e-6)
    assert bool(dist.Dirichlet(torch.ones(3)).support.check(median["w"]))
