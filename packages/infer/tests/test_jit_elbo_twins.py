"""The compiled ELBOs against their eager twins: same loss and gradients at the same
random draws, Pyro's arguments, and a clear error for programs that cannot be compiled."""
import warnings

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.distributions import constraints
from pyro.infer import (
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


def normal_model(data):
    loc = pyro.sample("loc", dist.Normal(0.0, 2.0))
    with pyro.plate("data", data.shape[0]):
        pyro.sample("obs", dist.Normal(loc, 1.0), obs=data)


def normal_guide(data):
    m = pyro.param("m", torch.tensor(0.3))
    s = pyro.param("s", torch.tensor(0.7), constraint=constraints.positive)
    pyro.sample("loc", dist.Normal(m, s))


def coin_model(data):
    # a non-reparameterized latent (score-function terms) beside a reparameterized one
    f = pyro.sample("f", dist.Beta(3.0, 3.0))
    z = pyro.sample("z", dist.Bernoulli(0.4))
    with pyro.plate("data", data.shape[0]):
        pyro.sample("obs", dist.Normal(f + z, 1.0), obs=data)


def coin_guide(data):
    a = pyro.param("a", torch.tensor(2.0), constraint=constraints.positive)
    b = pyro.param("b", torch.tensor(2.5), constraint=constraints.positive)
    p = pyro.param("p", torch.tensor(0.3), constraint=constraints.unit_interval)
    pyro.sample("f", dist.Beta(a, b))
    pyro.sample("z", dist.Bernoulli(p))


@config_enumerate
def mixture_model(data):
    weights = pyro.param("weights", torch.tensor([0.3, 0.7]), constraint=constraints.simplex)
    locs = pyro.param("locs", torch.tensor([-1.0, 2.0]))
    scale = pyro.sample("scale", dist.LogNormal(0.0, 1.0))
    with pyro.plate("data", data.shape[0]):
        k = pyro.sample("k", dist.Categorical(weights))
        pyro.sample("obs", dist.Normal(locs[k], scale), obs=data)


def mixture_guide(data):
    s = pyro.param("s_loc", torch.tensor(0.1))
    pyro.sample("scale", dist.LogNormal(s, 0.5))


DATA = torch.tensor([0.5, -1.2, 2.2, 1.9, 0.1])

CASES = [
    (Trace_ELBO, JitTrace_ELBO, normal_model, normal_guide, {}),
    (TraceMeanField_ELBO, JitTraceMeanField_ELBO, normal_model, normal_guide, {}),
    (Trace_ELBO, JitTrace_ELBO, coin_model, coin_guide, {}),
    (TraceGraph_ELBO, JitTraceGraph_ELBO, coin_model, coin_guide, {}),
    (TraceEnum_ELBO, JitTraceEnum_ELBO, mixture_model, mixture_guide, {"max_plate_nesting": 1}),
]


def _loss_and_grads(elbo, model, guide, seed):
    pyro.set_rng_seed(seed)
    loss = elbo.loss_and_grads(model, guide, DATA)
    grads = {}
    for name in sorted(pyro.get_param_store().keys()):
        leaf = pyro.param(name).unconstrained()
        grads[name] = leaf.grad.clone()
        leaf.grad = None
    return loss, grads


@pytest.mark.parametrize("eager_cls, jit_cls, model, guide, options", CASES,
                         ids=["trace-normal", "meanfield-normal", "trace-coin", "graph-coin",
                              "enum-mixture"])
def test_same_loss_and_gradients_as_eager_twin(eager_cls, jit_cls, model, guide, options):
    pyro.clear_param_store()
    jit_elbo = jit_cls(ignore_jit_warnings=True, **options)
    eager_elbo = eager_cls(**options)
    _loss_and_grads(jit_elbo, model, guide, 0)  # traces the graph
    for seed in (1, 2, 3):
        jit_loss, jit_grads = _loss_and_grads(jit_elbo, model, guide, seed)
        eager_loss, eager_grads = _loss_and_grads(eager_elbo, model, guide, seed)
        assert jit_loss == pytest.approx(eager_loss, rel=1e-5, abs=1e-6)
        assert jit_grads.keys() == eager_grads.keys()
        for name in eager_grads:
            assert torch.allclose(jit_grads[name], eager_grads[name], rtol=1e-5, atol=1e-6), name
    # differentiable_loss and loss agree with the eager ELBO too
    pyro.set_rng_seed(7)
    jit_value = jit_elbo.differentiable_loss(model, guide, DATA)
    pyro.set_rng_seed(7)
    eager_value = eager_elbo.differentiable_loss(model, guide, DATA)
    assert jit_value.item() == pytest.approx(eager_value.item(), rel=1e-5)


def test_svi_with_jit_elbo_follows_eager_svi():
    pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
    # the same optimization trajectory from the same parameters and draws (SGD: no
    # optimizer state from the first step, in which the compiled ELBO traces)
    def run(elbo):
        pyro.clear_param_store()
        svi = pyro.infer.SVI(normal_model, normal_guide, pyro.optim.SGD({"lr": 0.01}), elbo)
        svi.step(DATA)
        with torch.no_grad():
            pyro.param("m").unconstrained().fill_(0.3)
            pyro.param("s").unconstrained().fill_(-0.5)
        pyro.set_rng_seed(1)
        losses = [svi.step(DATA) for _ in range(20)]
        return losses, pyro.param("m").item(), pyro.param("s").item()

    eager = run(Trace_ELBO())
    jit = run(JitTrace_ELBO(ignore_jit_warnings=True))
    assert jit[0] == pytest.approx(eager[0], rel=1e-4)
    assert jit[1:] == pytest.approx(eager[1:], rel=1e-5)


def test_ignore_jit_warnings_silences_the_tracer():
    def model(data):
        # torch.tensor inside a traced function makes the tracer warn
        loc = pyro.sample("loc", dist.Normal(torch.tensor(0.0), torch.tensor(1.0)))
        pyro.sample("obs", dist.Normal(loc, 1.0).expand([5]).to_event(1), obs=data)

    for ignore in (False, True):
        pyro.clear_param_store()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            JitTrace_ELBO(ignore_jit_warnings=ignore).loss_and_grads(model, normal_guide, DATA)
        tracer = [w for w in seen if issubclass(w.category, torch.jit.TracerWarning)]
        assert bool(tracer) is not ignore


def test_jit_options_reach_torch_jit_trace():
    pyro.clear_param_store()
    elbo = JitTrace_ELBO(ignore_jit_warnings=True, jit_options={"no_such_option": 1})
    with pytest.raises(RuntimeError, match="JitTrace_ELBO could not compile.*no_such_option"):
        elbo.loss_and_grads(normal_model, normal_guide, DATA)
    # a valid option is accepted
    elbo = JitTrace_ELBO(ignore_jit_warnings=True, jit_options={"strict": False})
    assert isinstance(elbo.loss_and_grads(normal_model, normal_guide, DATA), float)


def test_uncompilable_program_gets_an_error_naming_the_cause():
    def model(data, label):
        loc = pyro.sample("loc", dist.Normal(0.0, 2.0))
        with pyro.plate("data", data.shape[0]):
            pyro.sample("obs", dist.Normal(loc, 1.0), obs=data)

    def guide(data, label):
        normal_guide(data)

    pyro.clear_param_store()
    with pytest.raises(RuntimeError) as info:
        JitTrace_ELBO(ignore_jit_warnings=True).loss_and_grads(model, guide, DATA, "run-1")
    message = str(info.value)
    assert "JitTrace_ELBO could not compile" in message
    assert "'model'" in message and "'guide'" in message
    assert "keyword" in message and "Trace_ELBO" in message
    # passed as a keyword argument (fixed into the graph) it compiles
    loss = JitTrace_ELBO(ignore_jit_warnings=True).loss_and_grads(model, guide, DATA,
                                                                  label="run-1")
    assert isinstance(loss, float)


def test_errors_of_the_program_itself_propagate_unchanged():
    def bad_guide(data):
        pyro.sample("loc", dist.Normal(0.0, -1.0))  # invalid scale: a ValueError

    pyro.clear_param_store()
    with pytest.raises(ValueError, match="scale"):
        JitTrace_ELBO(ignore_jit_warnings=True).loss_and_grads(normal_model, bad_guide, DATA)
