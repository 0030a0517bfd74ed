"""The compiled ELBOs' training step (one recorded graph of the loss and its gradients):
from one seed, step after step, the same losses and gradients as the eager twin; the
traced forward pass where the recording is not possible; parameters of modules."""
import pytest
import torch

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
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

FLIPS = torch.tensor([1.0] * 6 + [0.0] * 4)


def coin_model(data):
    f = pyro.sample("f", dist.Beta(torch.tensor(10.0), torch.tensor(10.0)))
    with pyro.plate("data", data.shape[0]):
        pyro.sample("obs", dist.Bernoulli(f), obs=data)


def coin_guide(data):
    a = pyro.param("alpha_q", torch.tensor(15.0), constraint=constraints.positive)
    b = pyro.param("beta_q", torch.tensor(15.0), constraint=constraints.positive)
    pyro.sample("f", dist.Beta(a, b))


POINTS = torch.linspace(-2.0, 3.0, 40)


def subsample_model(data):
    loc = pyro.sample("loc", dist.Normal(0.0, 3.0))
    with pyro.plate("data", data.shape[0], subsample_size=8) as idx:
        pyro.sample("obs", dist.Normal(loc, 1.0), obs=data[idx])


def subsample_guide(data):
    m = pyro.param("m", torch.tensor(0.2))
    s = pyro.param("s", torch.tensor(0.5), constraint=constraints.positive)
    pyro.sample("loc", dist.Normal(m, s))


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


def discrete_model(data):
    # a non-reparameterized latent: score-function terms (TraceGraph's Rao-Blackwellized)
    z = pyro.sample("z", dist.Bernoulli(0.4))
    loc = pyro.sample("loc", dist.Normal(z * 2.0, 1.0))
    with pyro.plate("data", data.shape[0]):
        pyro.sample("obs", dist.Normal(loc, 1.0), obs=data)


def discrete_guide(data):
    p = pyro.param("p", torch.tensor(0.3), constraint=constraints.unit_interval)
    m = pyro.param("m", torch.tensor(0.0))
    z = pyro.sample("z", dist.Bernoulli(p))
    pyro.sample("loc", dist.Normal(m + z, 1.0))


def normal_model(data):
    loc = pyro.sample("loc", dist.Normal(0.0, 2.0))
    with pyro.plate("data", data.shape[0]):
        pyro.sample("obs", dist.Normal(loc, 1.0), obs=data)


def normal_guide(data):
    m = pyro.param("m", torch.tensor(0.3))
    s = pyro.param("s", torch.tensor(0.7), constraint=constraints.positive)
    pyro.sample("loc", dist.Normal(m, s))


MIX = torch.tensor([0.5, -1.2, 2.2, 1.9, 0.1])

CASES = {
    "trace-coin": (Trace_ELBO, JitTrace_ELBO, coin_model, coin_guide, FLIPS, {}),
    "trace-subsample": (Trace_ELBO, JitTrace_ELBO, subsample_model, subsample_guide,
                        POINTS, {}),
    "enum-mixture": (TraceEnum_ELBO, JitTraceEnum_ELBO, mixture_model, mixture_guide, MIX,
                     {"max_plate_nesting": 1}),
    "graph-discrete": (TraceGraph_ELBO, JitTraceGraph_ELBO, discrete_model, discrete_guide,
                       MIX, {}),
    "meanfield-normal": (TraceMeanField_ELBO, JitTraceMeanField_ELBO, normal_model,
                         normal_guide, MIX, {}),
    "trace-particles": (Trace_ELBO, JitTrace_ELBO, coin_model, coin_guide, FLIPS,
                        {"num_particles": 3}),
    "trace-vectorized": (Trace_ELBO, JitTrace_ELBO, normal_model, normal_guide, MIX,
                         {"num_particles": 4, "vectorize_particles": True}),
}


def train(elbo, model, guide, *args, steps=6):
    """Steps of plain gradient descent from one seed: the losses and gradients seen."""
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    history = []
    for _ in range(steps):
        loss, params = elbo.loss_and_grads_and_params(model, guide, *args)
        grads = {}
        with torch.no_grad():
            for name, leaf in params.items():
                grads[name] = None if leaf.grad is None else leaf.grad.clone()
                if leaf.grad is not None:
                    leaf -= 0.05 * leaf.grad
                leaf.grad = None
        history.append((loss, grads))
    return history


def assert_same_history(got, expected):
    assert len(got) == len(expected)
    for (loss, grads), (ref_loss, ref_grads) in zip(got, expected):
        assert isinstance(loss, float)
        assert loss == pytest.approx(ref_loss, rel=1e-5, abs=1e-5)
        assert list(grads) == list(ref_grads)  # the same parameters, in the same order
        for name, ref in ref_grads.items():
            if ref is None:
                assert grads[name] is None, name
            else:
                torch.testing.assert_close(grads[name], ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_training_steps_equal_the_eager_twin(case):
    eager_cls, jit_cls, model, guide, data, options = CASES[case]
    expected = train(eager_cls(**options), model, guide, data)
    jit_elbo = jit_cls(ignore_jit_warnings=True, **options)
    got = train(jit_elbo, model, guide, data)
    assert jit_elbo._plan_kind(model, guide, data) == "fused"
    assert_same_history(got, expected)


def test_svi_steps_equal_the_eager_twin():
    optim = pytest.importorskip("pyro.optim", reason="training needs pyro-optim")

    def run(elbo):
        pyro.clear_param_store()
        pyro.set_rng_seed(1)
        svi = pyro.infer.SVI(coin_model, coin_guide, optim.Adam({"lr": 0.01}), elbo)
        losses = [svi.step(FLIPS) for _ in range(30)]
        return losses, pyro.param("alpha_q").item(), pyro.param("beta_q").item()

    eager = run(Trace_ELBO())
    jit = run(JitTrace_ELBO(ignore_jit_warnings=True))
    assert jit[0] == pytest.approx(eager[0], rel=1e-5)
    assert jit[1:] == pytest.approx(eager[1:], rel=1e-5)


def test_parameters_of_modules_are_inputs_of_the_graph():
    # pyro.module's parameters are the module's own tensors; an unregistered module's
    # parameters get .grad from backward too
    registered = torch.nn.Linear(2, 1)
    unregistered = torch.nn.Linear(1, 1)
    x = torch.tensor([[0.5, -1.0], [1.5, 0.3], [-0.2, 0.8]])
    y = torch.tensor([0.3, 1.1, -0.4])

    def model(x, y):
        w = pyro.sample("w", dist.Normal(0.0, 1.0))
        with pyro.plate("data", y.shape[0]):
            pyro.sample("obs", dist.Normal(w * x[:, 0], 1.0), obs=y)

    def guide(x, y):
        net = pyro.module("net", registered)
        h = net(x).mean().reshape(1)
        loc = unregistered(h).squeeze()
        pyro.sample("w", dist.Normal(loc, 0.5))

    def grads_of(elbo, seed):
        for p in list(registered.parameters()) + list(unregistered.parameters()):
            p.grad = None
        pyro.set_rng_seed(seed)
        loss, params = elbo.loss_and_grads_and_params(model, guide, x, y)
        return loss, params, [p.grad.clone() for p in unregistered.parameters()]

    pyro.clear_param_store()
    jit_elbo = JitTrace_ELBO(ignore_jit_warnings=True)
    grads_of(jit_elbo, 0)  # records
    assert jit_elbo._plan_kind(model, guide, x, y) == "fused"
    for seed in (1, 2):
        loss, params, other = grads_of(jit_elbo, seed)
        ref_loss, ref_params, ref_other = grads_of(Trace_ELBO(), seed)
        assert loss == pytest.approx(ref_loss, rel=1e-6)
        assert list(params) == list(ref_params) == ["net$$$weight", "net$$$bias"]
        for name in params:
            assert params[name] is registered.get_parameter(name.split("$$$")[1])
        for a, b in zip(other, ref_other):
            torch.testing.assert_close(a, b)
    # the module's parameters changed in place (as an optimizer does): the graph reads them
    with torch.no_grad():
        registered.weight.add_(0.5)
    loss, _, _ = grads_of(jit_elbo, 3)
    assert loss == pytest.approx(grads_of(Trace_ELBO(), 3)[0], rel=1e-6)


def test_a_value_read_in_python_falls_back_to_the_traced_forward_pass():
    def model(data):
        scale = float(data.abs().max())  # fixed by the trace; a recording cannot hold it
        loc = pyro.sample("loc", dist.Normal(0.0, scale))
        with pyro.plate("data", data.shape[0]):
            pyro.sample("obs", dist.Normal(loc, 1.0), obs=data)

    expected = train(Trace_ELBO(), model, normal_guide, MIX)
    jit_elbo = JitTrace_ELBO(ignore_jit_warnings=True)
    got = train(jit_elbo, model, normal_guide, MIX)
    reason = jit_elbo._plan_kind(model, normal_guide, MIX)
    assert "could not be recorded" in reason and "traced forward pass" in reason
    assert_same_history(got, expected)
    pyro.clear_param_store()
    with pytest.warns(RuntimeWarning, match="'model' and guide 'normal_guide'.*could not"):
        JitTrace_ELBO().loss_and_grads(model, normal_guide, MIX)


def test_replaced_parameters_and_new_shapes_are_recorded_again():
    elbo = JitTrace_ELBO(ignore_jit_warnings=True)
    eager = Trace_ELBO()

    def both(data, seed=0):
        out = []
        for e in (elbo, eager):
            pyro.set_rng_seed(seed)
            out.append(e.loss_and_grads(normal_model, normal_guide, data))
        for name in ("m", "s"):
            pyro.param(name).unconstrained().grad = None
        return out

    pyro.clear_param_store()
    both(MIX)
    assert elbo._plan_kind(normal_model, normal_guide, MIX) == "fused"
    got, ref = both(MIX, seed=1)
    assert got == pytest.approx(ref, rel=1e-6)
    pyro.get_param_store()["m"] = torch.tensor(1.5)  # a new tensor in the store
    got, ref = both(MIX, seed=2)
    assert got == pytest.approx(ref, rel=1e-6)
    longer = torch.cat([MIX, MIX + 1.0])  # another shape: another recording
    both(longer)
    got, ref = both(longer, seed=3)
    assert got == pytest.approx(ref, rel=1e-6)
    assert elbo._plan_kind(normal_model, normal_guide, longer) == "fused"


def test_enclosing_handlers_see_the_parameters():
    elbo = JitTrace_ELBO(ignore_jit_warnings=True)
    pyro.clear_param_store()
    for _ in range(2):  # the second step replays the recording
        with poutine.trace(param_only=True) as capture:
            elbo.loss_and_grads(normal_model, normal_guide, MIX)
    assert set(capture.trace.nodes) == {"m", "s"}


def test_first_differentiable_loss_is_the_eager_one():
    elbo = JitTrace_ELBO(ignore_jit_warnings=True)
    pyro.clear_param_store()
    values = []
    for e in (elbo, Trace_ELBO()):
        pyro.set_rng_seed(4)
        values.append([e.differentiable_loss(coin_model, coin_guide, FLIPS).item()
                       for _ in range(3)])
    assert values[0] == pytest.approx(values[1], rel=1e-6)


def test_pyro_module_with_priors_built_under_validation():
    nn = pytest.importorskip("pyro.nn", reason="PyroModule lives in pyro-nn")
    torch.manual_seed(0)
    x = torch.rand(12, 3)
    y = x.sum(-1)

    class Regression(nn.PyroModule):
        def __init__(self):
            super().__init__()
            self.linear = nn.PyroModule[torch.nn.Linear](3, 1)
            # a prior made now, with validation on: it checks its samples itself
            self.linear.weight = nn.PyroSample(dist.Normal(0.0, 1.0).expand([1, 3]).to_event(2))
            self.scale = nn.PyroParam(torch.tensor(0.5), constraint=constraints.positive)

        def forward(self, x, y):
            mean = self.linear(x).squeeze(-1)
            with pyro.plate("data", x.shape[0]):
                pyro.sample("obs", dist.Normal(mean, self.scale), obs=y)

    def guide(x, y):
        loc = pyro.param("w_loc", torch.zeros(1, 3))
        pyro.sample("linear.weight", dist.Normal(loc, 0.3).to_event(2))

    torch.manual_seed(1)
    expected = train(Trace_ELBO(), Regression(), guide, x, y)
    torch.manual_seed(1)
    model = Regression()  # a fresh module: the trained one keeps its parameters
    jit_elbo = JitTrace_ELBO(ignore_jit_warnings=True)
    got = train(jit_elbo, model, guide, x, y)
    assert jit_elbo._plan_kind(model, guide, x, y) == "fused"
    assert_same_history(got, expected)


def test_a_replay_that_fails_falls_back_for_good():
    elbo = JitTrace_ELBO()
    pyro.clear_param_store()
    elbo.loss_and_grads(normal_model, normal_guide, MIX)  # eager step, then recordings
    entry = next(iter(elbo._jit_compiled.values()))
    (plan,) = entry.plans.values()

    def broken(*tensors):
        raise RuntimeError("The size of tensor a (5) must match the size of tensor b (6)")

    plan.graph._run = broken  # as a shape fixed at recording would fail
    for name in ("m", "s"):
        pyro.param(name).unconstrained().grad = None
    pyro.set_rng_seed(3)
    with pytest.warns(RuntimeWarning, match="failed at a replay.*must match"):
        loss = elbo.loss_and_grads(normal_model, normal_guide, MIX)
    assert "failed at a replay" in elbo._plan_kind(normal_model, normal_guide, MIX)
    grads = [pyro.param(n).unconstrained().grad.clone() for n in ("m", "s")]
    for name in ("m", "s"):
        pyro.param(name).unconstrained().grad = None
    pyro.set_rng_seed(3)
    assert loss == pytest.approx(Trace_ELBO().loss_and_grads(normal_model, normal_guide, MIX))
    for name, grad in zip(("m", "s"), grads):
        torch.testing.assert_close(grad, pyro.param(name).unconstrained().grad)
    elbo.loss_and_grads(normal_model, normal_guide, MIX)  # the forward plan from now on
