"""pyro.module's param sites: the direct path (only plain tracing on the handler stack)
and the remembered parameter walk (pyro.params.module_params) record exactly what the
per-parameter path through apply_stack records, and each cache sees every change."""
import gc
import weakref

import pytest
import torch
from torch import nn

import pyro
import pyro.primitives as primitives
from pyro import poutine
from pyro.params import module_params
from pyro.poutine.messenger import Messenger

# the models here draw from pyro-distributions' families (the core env runs without them)
dist = pytest.importorskip("pyro.distributions", reason="the test models need pyro-distributions")


class Net(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(3, 4)
        self.out = nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 2))


@pytest.fixture
def per_site(monkeypatch):
    """Run a callable with the direct path switched off (every param message through
    apply_stack, the module walked afresh): the reference the fast paths must match."""

    def run(fn, *args, **kwargs):
        with monkeypatch.context() as m:
            m.setattr(primitives, "_param_recorders", lambda stack: None)
            m.setattr(primitives, "store_named_parameters", _walk_afresh)
            return fn(*args, **kwargs)

    return run


def _walk_afresh(name, module):
    return tuple((k, f"{name}$$${k}", p) for k, p in module.named_parameters())


def _same_sites(tr_a, tr_b):
    """Equal traces: the same site names in order; each param site the same keys with
    the very same objects (tensors by identity, the rest by equality); other sites the
    same type and equal values (the two runs draw the same numbers)."""
    assert list(tr_a.nodes) == list(tr_b.nodes)
    for name, a in tr_a.nodes.items():
        b = tr_b.nodes[name]
        assert a.keys() == b.keys(), name
        if a.get("type") != "param":
            assert a.get("type") == b.get("type"), name
            if isinstance(a.get("value"), torch.Tensor):
                assert torch.equal(a["value"], b["value"]), name
            continue
        for key in a:
            x, y = a[key], b[key]
            if key == "fn" and a["type"] == "param":
                assert x == y, (name, key)  # bound methods of the same store
            elif key == "args":
                assert len(x) == len(y), (name, key)
                for u, v in zip(x, y):
                    assert u is v if isinstance(u, torch.Tensor) else u == v, (name, key)
            elif isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
                assert x is y, (name, key)
            else:
                assert x == y, (name, key)


def _guide(net):
    def guide():
        pyro.module("net", net)
        return pyro.sample("z", dist.Normal(net.fc.bias.sum(), 1.0))
    return guide


def _model(net):
    def model():
        pyro.module("net", net)
        pyro.sample("z", dist.Normal(0.0, 1.0))
    return model


def _traces(net):
    torch.manual_seed(1)
    guide_tr = poutine.trace(_guide(net)).get_trace()
    model_tr = poutine.trace(poutine.replay(_model(net), trace=guide_tr)).get_trace()
    return guide_tr, model_tr


def test_traces_equal_the_per_site_path(per_site):
    net = Net()
    fast = _traces(net)
    slow = per_site(_traces, net)
    for a, b in zip(fast, slow):
        _same_sites(a, b)
    names = [n for n, s in fast[0].nodes.items() if s["type"] == "param"]
    assert names == [f"net$$${k}" for k, _ in net.named_parameters()]
    for k, p in net.named_parameters():
        assert fast[0].nodes[f"net$$${k}"]["value"] is p  # the module's own tensors


def test_nested_and_param_only_traces_record_each_site(per_site):
    net = Net()

    def run():
        torch.manual_seed(1)
        with poutine.trace() as outer, poutine.trace(param_only=True) as inner:
            _guide(net)()
        return outer.trace, inner.trace

    fast, slow = run(), per_site(run)
    for a, b in zip(fast, slow):
        _same_sites(a, b)
    assert list(fast[1].nodes) == [f"net$$${k}" for k, _ in net.named_parameters()]
    # both traces hold a copy of one message, as apply_stack gives them
    site = "net$$$fc.weight"
    assert fast[0].nodes[site] is not fast[1].nodes[site]
    assert fast[0].nodes[site]["kwargs"] is fast[1].nodes[site]["kwargs"]


def test_no_handler_registers_the_module():
    net = Net()
    assert pyro.module("net", net) is net
    store = pyro.get_param_store()
    for k, p in net.named_parameters():
        assert store.get_unconstrained(f"net$$${k}") is p


def test_a_replaced_parameter_is_seen(per_site):
    net = Net()
    _traces(net)
    net.fc.weight = nn.Parameter(torch.randn(4, 3))
    fast = _traces(net)
    slow = per_site(_traces, net)
    _same_sites(fast[0], slow[0])
    site = fast[0].nodes["net$$$fc.weight"]
    assert site["args"][1] is net.fc.weight
    # as in Pyro the store keeps the parameter it holds under that name
    assert site["value"] is pyro.get_param_store().get_unconstrained("net$$$fc.weight")
    pyro.clear_param_store()
    assert _traces(net)[0].nodes["net$$$fc.weight"]["value"] is net.fc.weight


def test_a_recreated_module_and_a_cleared_store(per_site):
    old = Net(seed=0)
    _traces(old)
    new = Net(seed=1)
    fast = _traces(new)
    _same_sites(fast[0], per_site(_traces, new)[0])
    for k, p in new.named_parameters():  # the store's (old) tensors, the new module's args
        site = fast[0].nodes[f"net$$${k}"]
        assert site["value"] is dict(old.named_parameters())[k]
        assert site["args"][1] is p
    pyro.clear_param_store()
    fast = _traces(new)
    for k, p in new.named_parameters():
        assert fast[0].nodes[f"net$$${k}"]["value"] is p


@pytest.mark.parametrize("change", ["add_param", "del_param", "reorder", "swap_child",
                                    "add_child", "none_child", "assign_load", "rename",
                                    "parametrize"])
def test_every_change_of_the_module_tree_is_seen(per_site, change):
    net = Net()
    _traces(net)
    if change == "add_param":
        net.out[0].extra = nn.Parameter(torch.zeros(2))
    elif change == "del_param":
        del net.out[2].bias
    elif change == "reorder":  # same names and objects, another order
        w = net.fc.weight
        del net.fc.weight
        net.fc.weight = w
    elif change == "swap_child":
        net.out[0] = nn.Linear(4, 2)
    elif change == "add_child":
        net.head = nn.Linear(2, 1)
    elif change == "none_child":
        net.out._modules["1"] = None
    elif change == "assign_load":
        net.load_state_dict(Net(seed=3).state_dict(), assign=True)
    elif change == "rename":
        net.out.add_module("3", net.out._modules.pop("2"))
    elif change == "parametrize":  # swaps the class, moves weight under parametrizations
        nn.utils.parametrize.register_parametrization(net.fc, "weight", nn.Tanh())
    pyro.clear_param_store()
    fast = _traces(net)
    _same_sites(fast[0], per_site(_traces, net)[0])
    assert [n for n, s in fast[0].nodes.items() if s["type"] == "param"] == \
        [f"net$$${k}" for k, _ in net.named_parameters()]


def test_in_place_changes_keep_the_same_sites(per_site):
    net = Net()
    before = _traces(net)[0]
    net.load_state_dict(Net(seed=5).state_dict())  # copies into the same tensors
    net.eval()
    net.fc.weight.requires_grad_(False)
    after = _traces(net)[0]
    _same_sites(after, per_site(_traces, net)[0])
    for name, site in before.nodes.items():
        if site["type"] == "param":
            assert after.nodes[name]["value"] is site["value"]
    assert torch.equal(after.nodes["net$$$fc.weight"]["value"], Net(seed=5).fc.weight)


def test_another_name_for_the_same_module():
    net = Net()
    with poutine.trace() as tr:
        pyro.module("a", net)
        pyro.module("b", net)
    names = [n for n, s in tr.trace.nodes.items() if s["type"] == "param"]
    keys = [k for k, _ in net.named_parameters()]
    assert names == [f"a$$${k}" for k in keys] + [f"b$$${k}" for k in keys]


@pytest.mark.parametrize("handler", ["block", "lift", "substitute", "plate", "scale",
                                     "condition", "replay_params", "mask"])
def test_handlers_that_act_on_params_still_see_each_site(per_site, handler):
    net = Net()
    pyro.module("net", net)  # in the store
    site = "net$$$fc.bias"
    ones, sevens = torch.ones(4), torch.full((4,), 7.0)

    def run():
        torch.manual_seed(2)
        with poutine.trace() as tr:
            if handler == "block":
                ctx = poutine.block(hide=[site])
            elif handler == "lift":
                ctx = poutine.lift(prior={site: dist.Normal(torch.zeros(4), 1.0).to_event(1)})
            elif handler == "substitute":
                ctx = poutine.substitute(data={site: ones})
            elif handler == "plate":
                ctx = pyro.plate("p", 2)
            elif handler == "scale":
                ctx = poutine.scale(scale=3.0)
            elif handler == "condition":
                ctx = poutine.condition(data={"other": torch.ones(1)})
            elif handler == "replay_params":
                ctx = poutine.replay(params={site: sevens})
            else:
                ctx = poutine.mask(mask=False)
            with ctx:
                pyro.module("net", net)
        return tr.trace

    fast, slow = run(), per_site(run)
    _same_sites(fast, slow)
    node = fast.nodes.get(site)
    if handler == "block":
        assert node is None
    elif handler == "lift":
        assert node["type"] == "sample"
    elif handler == "substitute":
        assert node["value"] is ones
    elif handler == "plate":
        assert [f.name for f in node["cond_indep_stack"]] == ["p"]
    elif handler == "replay_params":
        assert node["value"] is sevens
    else:
        assert node["value"] is net.fc.bias


def test_a_handler_registered_for_params_later_is_honoured():
    class Counting(Messenger):
        pass

    net = Net()
    seen = []
    with poutine.trace() as tr, Counting():
        pyro.module("net", net)
    assert len([s for s in tr.trace.nodes.values() if s["type"] == "param"]) == 6
    Counting.register(lambda self, msg: seen.append(msg["name"]), type="param")
    try:
        with poutine.trace() as tr, Counting():
            pyro.module("net", net)
    finally:
        Counting.unregister(type="param")
    assert seen == [f"net$$${k}" for k, _ in net.named_parameters()]

    class Instance(Messenger):
        pass

    handler = Instance()
    handler._pyro_param = lambda msg: seen.append("instance")
    with handler:
        pyro.module("net", net)
    assert seen[-6:] == ["instance"] * 6


def test_a_subclass_of_trace_gets_the_whole_message():
    class Stamping(poutine.trace_messenger.TraceMessenger):
        def process_message(self, msg):
            if msg["type"] == "param":
                msg["infer"]["stamped"] = True

    net = Net()
    with Stamping() as tr:
        pyro.module("net", net)
    assert all(s["infer"] == {"stamped": True}
               for s in tr.trace.nodes.values() if s["type"] == "param")


def test_update_module_params_after_a_load(tmp_path):
    net = Net()
    pyro.module("net", net)
    path = tmp_path / "params.pt"
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    expected = {k: p.detach().clone() for k, p in net.named_parameters()}
    pyro.get_param_store().save(str(path))
    fresh = Net(seed=9)
    pyro.clear_param_store()
    pyro.get_param_store().load(str(path))
    with poutine.trace() as tr:
        pyro.module("net", fresh, update_module_params=True)
    for k, p in fresh.named_parameters():
        assert torch.equal(p, expected[k])
        assert tr.trace.nodes[f"net$$${k}"]["value"] is p
        assert pyro.get_param_store().get_unconstrained(f"net$$${k}") is p


def test_a_module_with_its_own_walk_is_not_remembered():
    class Partial(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)

        def named_parameters(self, *args, **kwargs):
            return self.a.named_parameters(prefix="a")

    net = Partial()
    first = module_params.store_named_parameters("m", net)
    assert [e[1] for e in first] == ["m$$$a.weight", "m$$$a.bias"]
    assert net not in module_params._WALKS


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_a_script_module_is_walked_each_time(per_site):
    net = torch.jit.script(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)))

    def run():
        with poutine.trace() as tr:
            pyro.module("net", net)
        return tr.trace

    for _ in range(2):
        fast = run()
        _same_sites(fast, per_site(run))
    assert list(fast.nodes) == [f"net$$${k}" for k, _ in net.named_parameters()]
    assert net not in module_params._WALKS  # its dicts are C++ wrappers


def test_equal_modules_are_told_apart():
    class AllEqual(nn.Linear):
        def __eq__(self, other):
            return isinstance(other, AllEqual)

        def __hash__(self):
            return 0

    a, b = AllEqual(2, 2), AllEqual(2, 2)
    with poutine.trace() as tr:
        pyro.module("a", a)
        pyro.module("a", b)
    assert tr.trace.nodes["a$$$weight"]["args"][1] is b.weight


def test_the_remembered_walk_keeps_no_module_alive():
    net = Net()
    pyro.module("net", net)
    assert net in module_params._WALKS
    ref = weakref.ref(net)
    pyro.clear_param_store()
    del net
    gc.collect()
    assert ref() is None


def test_svi_steps_equal_the_per_site_path(per_site):
    infer = pytest.importorskip("pyro.infer", reason="SVI needs pyro-infer")
    optim = pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")
    SVI, Trace_ELBO, Adam = infer.SVI, infer.Trace_ELBO, optim.Adam

    def train():
        pyro.clear_param_store()
        pyro.set_rng_seed(0)
        enc, dec = nn.Linear(6, 4), nn.Linear(2, 6)

        def model(x):
            pyro.module("dec", dec)
            with pyro.plate("data", x.shape[0]):
                z = pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))
                pyro.sample("x", dist.Bernoulli(logits=dec(z)).to_event(1), obs=x)

        def guide(x):
            pyro.module("enc", enc)
            with pyro.plate("data", x.shape[0]):
                h = enc(x)
                pyro.sample("z", dist.Normal(h[:, :2], nn.functional.softplus(h[:, 2:]))
                            .to_event(1))

        x = (torch.rand(16, 6, generator=torch.Generator().manual_seed(3)) > 0.5).float()
        svi = SVI(model, guide, Adam({"lr": 0.05}), Trace_ELBO())
        losses = [svi.step(x) for _ in range(20)]
        return losses, [p.detach().clone() for m in (enc, dec) for p in m.parameters()]

    fast_losses, fast_params = train()
    slow_losses, slow_params = per_site(train)
    assert fast_losses == slow_losses
    assert all(torch.equal(a, b) for a, b in zip(fast_params, slow_params))
