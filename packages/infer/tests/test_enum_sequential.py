"""Sequential enumeration visits values in Pyro's order (depth first, last support value
first) and runs the model once per complete guide trace, never more."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import TraceEnum_ELBO, config_enumerate
from pyro.infer.enum import iter_discrete_traces


def programs(calls):
    def model():
        z = pyro.sample("z", dist.Categorical(torch.ones(3) / 3))
        w = pyro.sample("w", dist.Bernoulli(0.5))
        calls.append(("model", z.tolist(), w.tolist()))
        pyro.sample("x", dist.Normal(z.float() + w, 1.0), obs=torch.tensor(0.5))

    def guide():
        z = pyro.sample("z", dist.Categorical(torch.tensor([0.2, 0.3, 0.5])))
        w = pyro.sample("w", dist.Bernoulli(0.3))
        calls.append(("guide", z.tolist(), w.tolist()))

    return model, guide


def test_sequential_order_and_run_count():
    calls = []
    model, guide = programs(calls)
    loss = TraceEnum_ELBO(max_plate_nesting=0).loss(
        model, config_enumerate(guide, default="sequential"))
    # pyro-ppl 1.9.2 visits (2, 1), (2, 0), (1, 1), ... and runs each program once per pair
    order = [(z, w) for z in (2, 1, 0) for w in (1, 0)]
    expected = [(who, z, w) for z, w in order for who in ("guide", "model")]
    assert calls == expected
    # the exact ELBO: sum over q(z, w) of log p(z, w, x) - log q(z, w)
    exact = 0.0
    for z, w in order:
        q = [0.2, 0.3, 0.5][z] * (0.3 if w else 0.7)
        logp = (torch.tensor(1 / 3).log() + torch.tensor(0.5).log()
                + dist.Normal(z + w, 1.0).log_prob(torch.tensor(0.5))).item()
        exact += q * (logp - torch.tensor(q).log().item())
    assert loss == pytest.approx(-exact, abs=1e-5)


def test_parallel_guide_enumeration_runs_each_program_once():
    calls = []
    model, guide = programs(calls)
    elbo = TraceEnum_ELBO(max_plate_nesting=0)
    for _ in range(2):
        del calls[:]
        elbo.loss(model, config_enumerate(guide, default="parallel"))
        assert [c[0] for c in calls] == ["guide", "model"]


def test_iter_discrete_traces_without_sequential_sites_runs_once():
    runs = []

    def fn():
        runs.append(1)
        return pyro.sample("x", dist.Bernoulli(0.5))

    traces = list(iter_discrete_traces("flat", fn))
    assert len(traces) == 1 and len(runs) == 1
