"""NeuTraReparam and StructuredReparam with a guide that has never run: the first model
run sets the guide up (its prototype trace) and reparameterizes every latent site."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.reparam import NeuTraReparam, StructuredReparam

autoguide = pytest.importorskip("pyro.infer.autoguide", reason="needs pyro-autoguide")


def model(data):
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.Normal(a, 1.0))
    pyro.sample("y", dist.Normal(b, 1.0), obs=data)


@pytest.mark.parametrize("make", [
    lambda: NeuTraReparam(autoguide.AutoDiagonalNormal(model)),
    lambda: StructuredReparam(autoguide.AutoStructured(model, conditionals="normal")),
])
def test_untrained_guide_is_set_up_on_the_first_run(make):
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    reparam = make()
    assert reparam.guide.prototype_trace is None
    data = torch.tensor(0.7)
    trace = poutine.trace(reparam.reparam(model)).get_trace(data)
    assert set(reparam.guide.prototype_trace.stochastic_nodes) == {"a", "b"}
    for name in ("a", "b"):  # now deterministic functions of the auxiliary latents
        assert trace.nodes[name]["is_observed"]
        assert isinstance(trace.nodes[name]["fn"], dist.Delta)
    assert not isinstance(trace.nodes["y"]["fn"], dist.Delta)
    # a second run uses the same prototype
    prototype = reparam.guide.prototype_trace
    poutine.trace(reparam.reparam(model)).get_trace(data)
    assert reparam.guide.prototype_trace is prototype
