"""Predictive consumes the random stream as pyro-ppl 1.9 does: two blocked runs of the
model (or guide) before drawing. A seeded program then prints pyro-ppl's draws, not just
draws of the same law (Pyro's tutorials print Predictive draws after pyro.set_rng_seed)."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import Predictive, WeighedPredictive

NUM = 3


def model(x=None):
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    with pyro.plate("N", 2):
        pyro.sample("b", dist.Normal(a, 1.0), obs=x)


def guide(x=None):
    pyro.sample("a", dist.Normal(5.0, 1.0))


def runs(fn, n, *args):
    """Traces of ``n`` plain runs of ``fn`` after seeding: the reference stream."""
    pyro.set_rng_seed(0)
    return [poutine.trace(fn).get_trace(*args) for _ in range(n)]


def values(traces, name):
    return torch.stack([t.nodes[name]["value"] for t in traces])


def test_prior_predictive_draws_after_two_model_runs():
    expected = values(runs(model, 2 + NUM)[2:], "a")
    pyro.set_rng_seed(0)
    got = Predictive(model, num_samples=NUM)()["a"].reshape(-1)
    torch.testing.assert_close(got, expected)


def test_vectorized_prior_predictive_draws_after_two_model_runs():
    # two model runs, then all draws of a at once
    pyro.set_rng_seed(0)
    for _ in range(2):
        poutine.trace(model).get_trace()
    expected = torch.randn(NUM)
    pyro.set_rng_seed(0)
    got = Predictive(model, num_samples=NUM, parallel=True)()["a"].reshape(-1)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("parallel", [False, True])
def test_guide_predictive_draws_after_two_guide_runs(parallel):
    expected = values(runs(guide, 2 + NUM)[2:], "a")
    pyro.set_rng_seed(0)
    got = Predictive(model, guide=guide, num_samples=NUM, parallel=parallel)()["a"].reshape(-1)
    torch.testing.assert_close(got, expected)
    pyro.set_rng_seed(0)
    trace = Predictive(model, guide=guide, num_samples=NUM).get_vectorized_trace()
    torch.testing.assert_close(trace.nodes["a"]["value"].reshape(-1), expected)


def test_posterior_predictive_draws_after_two_model_runs():
    # two unconditioned runs (a and b: three normals each), then b | a = 0 per draw
    pyro.set_rng_seed(0)
    for _ in range(2):
        poutine.trace(model).get_trace()
    expected = torch.randn(NUM, 2)
    pyro.set_rng_seed(0)
    got = Predictive(model, {"a": torch.zeros(NUM)})()["b"]
    torch.testing.assert_close(got, expected)


def test_weighed_predictive_draws_after_two_guide_runs():
    expected = values(runs(guide, 2 + NUM)[2:], "a")
    pyro.set_rng_seed(0)
    res = WeighedPredictive(model, guide=guide, num_samples=NUM)(torch.ones(2), model_guide=model)
    torch.testing.assert_close(res.samples["a"].reshape(-1), expected)
