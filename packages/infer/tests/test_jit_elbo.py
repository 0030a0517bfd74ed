"""The JIT-compiled ELBOs compute what their eager ELBOs compute: once compiled, the same
seed gives the same loss and the same gradients."""
import warnings

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import (
    SVI,
    JitTrace_ELBO,
    JitTraceEnum_ELBO,
    JitTraceGraph_ELBO,
    JitTraceMeanField_ELBO,
    Trace_ELBO,
    TraceEnum_ELBO,
    TraceGraph_ELBO,
    TraceMeanField_ELBO,
    config_enumerate,
)


def model(data, discrete=True):
    loc = pyro.param("loc", torch.tensor(0.0))
    with pyro.plate("data", len(data)):
        z = pyro.sample("z", dist.Normal(loc, 1.0))
        c = pyro.sample("c", dist.Bernoulli(0.3)) if discrete else 0.0
        pyro.sample("obs", dist.Normal(z + c, 1.0), obs=data)


def guide(data, discrete=True):
    q_loc = pyro.param("q_loc", torch.zeros(len(data)))
    q_p = pyro.param("q_p", torch.full((len(data),), 0.5),
                     constraint=dist.constraints.unit_interval)
    with pyro.plate("data", len(data)):
        pyro.sample("z", dist.Normal(q_loc, 1.0))
        if discrete:
            pyro.sample("c", dist.Bernoulli(q_p))
        else:
            pyro.factor("q_p_unused", 0.0 * q_p)  # keeps q_p a parameter of the guide


PAIRS = [
    (Trace_ELBO, JitTrace_ELBO, guide, True),
    (TraceGraph_ELBO, JitTraceGraph_ELBO, guide, True),
    (TraceMeanField_ELBO, JitTraceMeanField_ELBO, guide, False),  # reparameterized only
    (TraceEnum_ELBO, JitTraceEnum_ELBO, config_enumerate(guide), True),
]


def _loss_and_grads(elbo, guide_fn, data, discrete, seed):
    pyro.set_rng_seed(seed)
    loss = elbo.differentiable_loss(model, guide_fn, data, discrete=discrete)
    names = ("loc", "q_loc", "q_p") if discrete else ("loc", "q_loc")
    params = [pyro.param(n).unconstrained() for n in names]
    grads = torch.autograd.grad(loss, params)
    return loss.detach(), grads


@pytest.mark.parametrize("eager_cls, jit_cls, guide_fn, discrete", PAIRS,
                         ids=[p[1].__name__ for p in PAIRS])
def test_compiled_loss_and_grads_equal_eager(eager_cls, jit_cls, guide_fn, discrete):
    data = torch.tensor([0.5, -1.0, 2.0])
    pyro.clear_param_store()
    jit_elbo = jit_cls(max_plate_nesting=1, ignore_jit_warnings=True)
    eager_elbo = eager_cls(max_plate_nesting=1)
    _loss_and_grads(jit_elbo, guide_fn, data, discrete, 0)  # compiles
    for seed in (1, 2):
        expected_loss, expected_grads = _loss_and_grads(eager_elbo, guide_fn, data, discrete, seed)
        actual_loss, actual_grads = _loss_and_grads(jit_elbo, guide_fn, data, discrete, seed)
        assert torch.allclose(actual_loss, expected_loss, rtol=1e-5, atol=1e-6)
        for a, e in zip(actual_grads, expected_grads):
            assert torch.allclose(a, e, rtol=1e-5, atol=1e-6)
    assert len(jit_elbo._jit_compiled) == 1  # one graph, reused


def test_svi_trains_through_the_compiled_graph():
    pytest.importorskip("pyro.optim", reason="SVI training needs pyro-optim")
    from pyro.optim import Adam

    data = torch.tensor([1.0, 1.5, 2.0, 2.5])

    def gauss_model(data):
        loc = pyro.param("loc", torch.tensor(0.0))
        with pyro.plate("data", len(data)):
            pyro.sample("obs", dist.Normal(loc, 1.0), obs=data)

    pyro.clear_param_store()
    svi = SVI(gauss_model, lambda data: None, Adam({"lr": 0.1}), JitTrace_ELBO())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(300):
            svi.step(data)
    # the maximum-likelihood location is the sample mean
    assert pyro.param("loc").item() == pytest.approx(data.mean().item(), abs=1e-3)


def test_kwargs_are_fixed_into_one_graph_each():
    def scaled_model(data, scale=1.0):
        loc = pyro.param("loc", torch.tensor(0.0))
        with pyro.plate("data", len(data)):
            pyro.sample("obs", dist.Normal(loc, scale), obs=data)

    data = torch.tensor([1.0, 2.0])
    pyro.clear_param_store()
    elbo = JitTrace_ELBO()
    loss1 = elbo.differentiable_loss(scaled_model, lambda *a, **k: None, data, scale=1.0)
    loss2 = elbo.differentiable_loss(scaled_model, lambda *a, **k: None, data, scale=2.0)
    expected = [-dist.Normal(0.0, s).log_prob(data).sum() for s in (1.0, 2.0)]
    assert torch.allclose(loss1, expected[0]) and torch.allclose(loss2, expected[1])
