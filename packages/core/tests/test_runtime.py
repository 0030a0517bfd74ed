"""pyro.poutine.runtime: messages, the handler stack, apply_stack, effectful."""
import math

import pytest
import torch
import torch.distributions as dist

import pyro
from pyro.poutine import runtime
from pyro.poutine.messenger import Messenger
from pyro.poutine.runtime import am_i_wrapped, apply_stack, effectful, new_message

MESSAGE_KEYS = {"type", "name", "fn", "args", "kwargs", "value", "is_observed", "infer",
                "scale", "mask", "cond_indep_stack", "done", "stop", "continuation"}


class Log(Messenger):
    """Records (hook, tag, site name) in a shared list."""

    def __init__(self, tag, log, stop=False):
        super().__init__()
        self.tag, self.log, self.stop = tag, log, stop

    def process_message(self, msg):
        self.log.append(("pre", self.tag, msg["name"]))
        if self.stop:
            msg["stop"] = True

    def postprocess_message(self, msg):
        self.log.append(("post", self.tag, msg["name"]))


def test_new_message_has_every_key_with_its_default():
    fn = dist.Normal(0.0, 1.0)
    msg = new_message("sample", "x", fn)
    assert set(msg) == MESSAGE_KEYS
    assert msg["type"] == "sample" and msg["name"] == "x" and msg["fn"] is fn
    assert msg["args"] == () and msg["kwargs"] == {} and msg["infer"] == {}
    assert msg["value"] is None and msg["is_observed"] is False
    assert msg["scale"] == 1.0 and msg["mask"] is None and msg["cond_indep_stack"] == ()
    assert msg["done"] is False and msg["stop"] is False and msg["continuation"] is None


def test_sample_sends_one_message_with_every_key():
    seen = []

    class Grab(Messenger):
        def _pyro_sample(self, msg):
            seen.append(dict(msg))

    with Grab():
        pyro.sample("x", dist.Normal(0.0, 1.0), infer={"flag": 1})
    assert len(seen) == 1
    assert MESSAGE_KEYS <= set(seen[0])
    assert seen[0]["infer"] == {"flag": 1} and seen[0]["type"] == "sample"


def test_apply_stack_order_innermost_first_then_outermost_first():
    log = []
    with Log("outer", log):
        with Log("middle", log):
            with Log("inner", log):
                pyro.sample("z", dist.Normal(0.0, 1.0))
    assert log == [("pre", "inner", "z"), ("pre", "middle", "z"), ("pre", "outer", "z"),
                   ("post", "outer", "z"), ("post", "middle", "z"), ("post", "inner", "z")]


def test_stop_hides_the_message_from_outer_handlers_only():
    log = []
    with Log("outer", log):
        with Log("stopper", log, stop=True):
            with Log("inner", log):
                pyro.sample("z", dist.Normal(0.0, 1.0))
    # the stopper and the handlers inside it see the message both ways; "outer" never does
    assert log == [("pre", "inner", "z"), ("pre", "stopper", "z"),
                   ("post", "stopper", "z"), ("post", "inner", "z")]


def test_default_process_draws_unless_a_value_is_given():
    msg = new_message("sample", "x", dist.Normal(3.0, 1e-6))
    apply_stack(msg)
    assert msg["done"] and abs(msg["value"].item() - 3.0) < 1e-4
    given = torch.tensor(-7.0)
    msg = new_message("sample", "x", dist.Normal(3.0, 1e-6), value=given)
    apply_stack(msg)
    assert msg["value"] is given and msg["done"]
    # other message types call fn(*args, **kwargs)
    msg = new_message("custom", "c", lambda a, b=0: a * 10 + b, (4,), {"b": 2})
    apply_stack(msg)
    assert msg["value"] == 42


def test_default_process_uses_rsample_when_available():
    loc = torch.tensor(0.5, requires_grad=True)
    x = pyro.sample("x", dist.Normal(loc, 1.0))
    assert x.requires_grad  # reparameterized: the draw is differentiable in loc
    with Log("h", []):
        y = pyro.sample("y", dist.Normal(loc, 1.0))
    assert y.requires_grad
    k = pyro.sample("k", dist.Bernoulli(torch.tensor(0.5, requires_grad=True)))
    assert not k.requires_grad


def test_continuation_runs_after_the_up_pass():
    log = []
    msg = new_message("sample", "x", dist.Normal(0.0, 1.0))
    msg["continuation"] = lambda m: log.append(("continuation", m["name"]))
    with Log("h", log):
        apply_stack(msg)
    assert log == [("pre", "h", "x"), ("post", "h", "x"), ("continuation", "x")]


def test_am_i_wrapped_and_stack_membership():
    assert not am_i_wrapped()
    h = Log("h", [])
    with h:
        assert am_i_wrapped() and runtime._PYRO_STACK[-1] is h
    assert not am_i_wrapped() and h not in runtime._PYRO_STACK


def test_sample_outside_any_handler_is_a_plain_draw():
    pyro.set_rng_seed(3)
    x = pyro.sample("x", dist.Normal(torch.zeros(2, 3), 1.0))
    pyro.set_rng_seed(3)
    expected = dist.Normal(torch.zeros(2, 3), 1.0).rsample()
    assert torch.equal(x, expected)
    obs = torch.tensor([1.0, 2.0])
    assert pyro.sample("o", dist.Normal(0.0, 1.0).expand([2]), obs=obs) is obs


def test_effectful_outside_and_inside_handlers():
    @effectful(type="my_effect")
    def triple(x):
        return 3 * x

    assert triple(2) == 6  # no handler: a plain call
    assert triple(2, obs=5) == 5
    seen = []

    class Grab(Messenger):
        def _pyro_my_effect(self, msg):
            seen.append((msg["type"], msg["name"], msg["args"]))

        def _pyro_post_my_effect(self, msg):
            seen.append(("post", msg["value"]))

    with Grab():
        assert triple(2, name="t") == 6
    assert seen == [("my_effect", "t", (2,)), ("post", 6)]
    with pytest.raises(ValueError, match="type="):
        effectful(lambda x: x)


def test_get_param_store_is_the_process_wide_store():
    store = pyro.get_param_store()
    assert store is runtime.get_param_store()
    assert isinstance(store, pyro.params.param_store.ParamStoreDict)
    pyro.param("a", torch.tensor(math.pi))
    assert "a" in store and pyro.get_param_store() is store
