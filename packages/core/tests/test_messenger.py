"""The Messenger base class: context manager, decorator, wrapper, Mini Pyro's
style (fn in __init__, process_message / postprocess_message), type dispatch, register."""
import math
from collections import OrderedDict

import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine
from pyro.poutine import runtime
from pyro.poutine.messenger import Messenger, block_messengers
from pyro.poutine.runtime import effectful

LOG2PI = math.log(2 * math.pi)


def normal_lp(x, loc, scale):
    # log N(x; loc, scale) = -log(2 pi)/2 - log(scale) - (x - loc)^2 / (2 scale^2)
    return -0.5 * LOG2PI - math.log(scale) - (x - loc) ** 2 / (2 * scale**2)


class Recorder(Messenger):
    def __init__(self, fn=None):
        super().__init__(fn)
        self.names = []

    def process_message(self, msg):
        self.names.append(msg["name"])


def model():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.Normal(a, 2.0))
    pyro.sample("c", dist.Normal(b, 0.5), obs=torch.tensor(1.0))
    return a, b


def guide():
    pyro.sample("a", dist.Normal(0.3, 0.5))
    pyro.sample("b", dist.Normal(-0.2, 1.5))


def test_context_manager_pushes_and_pops():
    r = Recorder()
    with r as entered:
        assert entered is r and runtime._PYRO_STACK[-1] is r
        model()
    assert r.names == ["a", "b", "c"] and r not in runtime._PYRO_STACK


def test_exception_inside_the_context_leaves_the_stack_clean():
    r = Recorder()
    with pytest.raises(ZeroDivisionError):
        with r:
            with Recorder():
                1 / 0
    assert runtime._PYRO_STACK == []


def test_decorator_wrapper_and_seed_style():
    # decorator
    deco_rec = Recorder()

    @deco_rec
    def decorated():
        return pyro.sample("d", dist.Normal(0.0, 1.0))

    decorated()
    assert deco_rec.names == ["d"] and decorated.msngr is deco_rec
    # wrapper
    r = Recorder()
    wrapped = r(model)
    a, b = wrapped()
    assert r.names == ["a", "b", "c"] and isinstance(a, torch.Tensor)
    # Mini Pyro style: fn given at construction, calling the messenger runs it
    s = Recorder(model)
    s()
    s()
    assert s.names == ["a", "b", "c"] * 2


def test_bad_constructions_are_errors():
    with pytest.raises(ValueError, match="expected a callable"):
        Recorder(fn=3)
    with pytest.raises(ValueError, match="exactly one callable"):
        Recorder()(1, 2)


def test_type_dispatch_of_pyro_hooks():
    calls = []

    class Typed(Messenger):
        def _pyro_sample(self, msg):
            calls.append(("sample", msg["name"]))

        def _pyro_post_sample(self, msg):
            calls.append(("post_sample", msg["name"], msg["value"] is not None))

        def _pyro_param(self, msg):
            calls.append(("param", msg["name"]))

    with Typed():
        pyro.param("p", torch.tensor(1.0))
        pyro.sample("s", dist.Normal(0.0, 1.0))
    assert calls == [("param", "p"), ("sample", "s"), ("post_sample", "s", True)]


def test_register_and_unregister_a_message_type():
    @effectful(type="tag_effect")
    def tag(x):
        return x

    class Tagger(Messenger):
        pass

    @Tagger.register(type="tag_effect")
    def _tag(self, msg):
        msg["value"] = "tagged:" + msg["args"][0]
        msg["done"] = True

    @Tagger.register(type="tag_effect", post=True)
    def _post(self, msg):
        msg["value"] = msg["value"] + "!"

    try:
        with Tagger():
            assert tag("x", name="t") == "tagged:x!"
    finally:
        Tagger.unregister(type="tag_effect")
    with Tagger():
        assert tag("x", name="t") == "x"  # unregistered: the default effect again
    with pytest.raises(ValueError, match="type="):
        Tagger.register(lambda self, msg: None)


def test_stop_set_by_a_user_messenger():
    class HideB(Messenger):
        def process_message(self, msg):
            if msg["name"] == "b":
                msg["stop"] = True

    tr = poutine.trace(HideB(model)).get_trace()
    assert "a" in tr and "c" in tr and "b" not in tr


def test_block_messengers_removes_and_restores():
    outer = Recorder()
    inner = Recorder()
    with outer:
        with inner:
            with block_messengers(lambda m: m is outer) as blocked:
                assert blocked == [outer]
                pyro.sample("x", dist.Normal(0.0, 1.0))
            assert runtime._PYRO_STACK == [outer, inner]
            pyro.sample("y", dist.Normal(0.0, 1.0))
    assert outer.names == ["y"] and inner.names == ["x", "y"]


# ------------------------------------------------------ Mini Pyro handlers


class mini_trace(Messenger):
    def __enter__(self):
        super().__enter__()
        self.trace = OrderedDict()
        return self.trace

    def postprocess_message(self, msg):
        assert msg["name"] not in self.trace, "all sites must have unique name"
        self.trace[msg["name"]] = msg.copy()

    def get_trace(self, *args, **kwargs):
        self(*args, **kwargs)
        return self.trace


class mini_replay(Messenger):
    def __init__(self, fn, guide_trace):
        self.guide_trace = guide_trace
        super().__init__(fn)

    def process_message(self, msg):
        if msg["name"] in self.guide_trace:
            msg["value"] = self.guide_trace[msg["name"]]["value"]


def test_mini_pyro_elbo_matches_hand_computation():
    pyro.set_rng_seed(4)
    guide_trace = mini_trace(guide).get_trace()
    model_trace = mini_trace(mini_replay(model, guide_trace)).get_trace()
    elbo = 0.0
    for site in model_trace.values():
        elbo = elbo + site["fn"].log_prob(site["value"]).sum()
    for site in guide_trace.values():
        elbo = elbo - site["fn"].log_prob(site["value"]).sum()
    a, b = guide_trace["a"]["value"].item(), guide_trace["b"]["value"].item()
    assert model_trace["a"]["value"].item() == a and model_trace["b"]["value"].item() == b
    # log N(a;0,1) + log N(b;a,2) + log N(1;b,.5) - log N(a;.3,.5) - log N(b;-.2,1.5)
    expected = (normal_lp(a, 0, 1) + normal_lp(b, a, 2) + normal_lp(1.0, b, 0.5)
                - normal_lp(a, 0.3, 0.5) - normal_lp(b, -0.2, 1.5))
    assert abs(elbo.item() - expected) < 1e-4


def test_mini_pyro_and_builtin_handlers_compose():
    pyro.set_rng_seed(5)
    guide_tr = poutine.trace(guide).get_trace()
    a = guide_tr["a"]["value"].item()
    # user replay inside the built-in trace
    tr = poutine.trace(mini_replay(model, guide_tr)).get_trace()
    assert tr["a"]["value"].item() == a
    # built-in replay inside the user trace
    recorded = mini_trace(poutine.replay(model, trace=guide_tr)).get_trace()
    assert list(recorded) == ["a", "b", "c"] and recorded["a"]["value"].item() == a
