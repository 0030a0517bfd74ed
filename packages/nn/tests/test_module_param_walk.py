"""pyro.module over PyroModules: the direct param-site path and the remembered parameter
walk record what the per-parameter path through apply_stack records, also when a
PyroModule swaps its own parameters for the store's (after ``set_state``)."""
import pytest
import torch
from torch import nn

import pyro
import pyro.distributions as dist
import pyro.primitives as primitives
from pyro import poutine
from pyro.distributions import constraints
from pyro.nn import PyroModule, PyroParam, PyroSample


class Regression(PyroModule):
    def __init__(self):
        super().__init__()
        self.linear = PyroModule[nn.Linear](3, 1)
        self.linear.weight = PyroSample(dist.Normal(0.0, 1.0).expand([1, 3]).to_event(2))
        self.sigma = PyroParam(torch.tensor(0.5), constraint=constraints.positive)
        self.head = PyroModule[nn.Linear](1, 1)

    def forward(self, x, y=None):
        mean = self.head(self.linear(x)).squeeze(-1)
        with pyro.plate("data", x.shape[0]):
            return pyro.sample("obs", dist.Normal(mean, self.sigma), obs=y)


def _walk_afresh(name, module):
    return tuple((k, f"{name}$$${k}", p) for k, p in module.named_parameters())


@pytest.fixture
def per_site(monkeypatch):
    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(primitives, "_param_recorders", lambda stack: None)
            m.setattr(primitives, "store_named_parameters", _walk_afresh)
            return fn()
    return run


def _record(net, x):
    def run():
        torch.manual_seed(0)
        with poutine.trace() as tr:
            pyro.module("reg", net)
            net(x, torch.zeros(x.shape[0]))
        return tr.trace
    return run


def _leaf(value):
    ref = getattr(value, "unconstrained", None)
    return value if ref is None else ref()


def _same(a, b):
    assert list(a.nodes) == list(b.nodes)
    for name, site in a.nodes.items():
        other = b.nodes[name]
        assert site.keys() == other.keys()
        if site["type"] == "param":
            # the same leaf (a constrained value is computed afresh at each read)
            assert _leaf(site["value"]) is _leaf(other["value"]), name
            assert torch.equal(site["value"], other["value"]), name
            assert len(site["args"]) == len(other["args"])
            if isinstance(site["args"][1], torch.Tensor):
                assert site["args"][1] is other["args"][1], name
        elif isinstance(site.get("value"), torch.Tensor):
            assert torch.equal(site["value"], other["value"]), name


def test_pyro_module_of_a_pyro_module(per_site):
    net = Regression()
    x = torch.randn(5, 3)
    fast = _record(net, x)()
    _same(fast, per_site(_record(net, x)))
    names = [n for n, s in fast.nodes.items() if s["type"] == "param"]
    # pyro.module's names first, then the PyroModule's own param sites
    assert names[:4] == [f"reg$$${k}" for k, _ in net.named_parameters()]
    assert "sigma" in names and "head.weight" in names


def test_a_pyro_module_taking_the_stores_tensors_is_seen(per_site):
    net = Regression()
    x = torch.randn(5, 3)
    _record(net, x)()
    state = pyro.get_param_store().get_state()
    copies = {k: v.detach().clone() + 1.0 for k, v in state["params"].items()}
    pyro.get_param_store().set_state({"params": copies, "constraints": state["constraints"]})
    _record(net, x)()  # the PyroModule adopts the store's new tensors in its _parameters
    assert net.head.weight is pyro.get_param_store().get_unconstrained("head.weight")
    fast = _record(net, x)()
    _same(fast, per_site(_record(net, x)))
    assert fast.nodes["reg$$$head.weight"]["args"][1] is net.head.weight


def test_training_a_pyro_module_equals_the_per_site_path(per_site):
    autoguide = pytest.importorskip("pyro.infer.autoguide", reason="needs pyro-autoguide")
    optim = pytest.importorskip("pyro.optim", reason="needs pyro-optim")
    from pyro.infer import SVI, Trace_ELBO

    def train():
        pyro.clear_param_store()
        pyro.set_rng_seed(0)
        net = Regression()
        x = torch.randn(20, 3, generator=torch.Generator().manual_seed(1))
        y = x.sum(-1)

        def model(x, y):
            pyro.module("reg", net)
            return net(x, y)

        guide = autoguide.AutoNormal(model)
        svi = SVI(model, guide, optim.Adam({"lr": 0.05}), Trace_ELBO())
        losses = [svi.step(x, y) for _ in range(15)]
        return losses, {k: v.detach().clone() for k, v in pyro.get_param_store().items()}

    fast_losses, fast_params = train()
    slow_losses, slow_params = per_site(train)
    assert fast_losses == slow_losses
    assert fast_params.keys() == slow_params.keys()
    assert all(torch.equal(fast_params[k], slow_params[k]) for k in fast_params)
