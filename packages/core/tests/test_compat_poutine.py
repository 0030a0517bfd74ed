"""pyro.poutine as Pyro 1.9 spells it (issue 8, item 4): runtime helpers, reparam (with a
small reparameterizer written here, Pyro's ``apply(msg)`` protocol), equalize,
GuideMessenger, ReentrantMessenger, unwrap, validation switches."""
import math
import typing

import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine
from pyro.poutine import runtime
from pyro.poutine.guide import GuideMessenger
from pyro.poutine.messenger import Messenger, unwrap
from pyro.poutine.reentrant_messenger import ReentrantMessenger
from pyro.poutine.reparam_messenger import ReparamHandler, ReparamMessenger
from pyro.primitive_distributions import Delta

LOG_2PI = math.log(2 * math.pi)


def normal_lp(x, loc=0.0, scale=1.0):
    return -0.5 * LOG_2PI - math.log(scale) - (x - loc) ** 2 / (2 * scale**2)


# ----------------------------------------------------------------- runtime


def test_get_plates():
    assert runtime.get_plates() == ()
    with pyro.plate("a", 3):
        with pyro.plate("b", 2, dim=-2):
            frames = runtime.get_plates()
            with poutine.block():  # a handler that hides sites hides the plates outside
                assert runtime.get_plates() == ()
    assert [(f.name, f.dim, f.size) for f in frames] == [("a", -1, 3), ("b", -2, 2)]
    with poutine.trace() as tracer:
        with pyro.plate("c", 4):
            runtime.get_plates()
    assert list(tracer.trace.nodes) == ["c"]  # the query is not a site


def test_get_mask():
    assert poutine.get_mask() is None
    with poutine.trace():
        assert poutine.get_mask() is None
    m = torch.tensor([True, False, True])
    with poutine.mask(mask=m):
        assert poutine.get_mask() is m
        with poutine.mask(mask=torch.tensor([False, True, True])):
            assert poutine.get_mask().tolist() == [False, False, True]
        with poutine.mask(mask=False):
            assert poutine.get_mask() is False


def test_get_mask_skips_costly_factor_in_prediction():
    calls = []

    def model():
        if poutine.get_mask() is not False:
            calls.append(1)
            pyro.factor("f", torch.tensor(-1.0))

    poutine.trace(model).get_trace()
    poutine.trace(poutine.mask(model, mask=False)).get_trace()
    assert calls == [1]


def test_nonlocal_exit_and_infer_dict_and_apply_stack():
    assert poutine.NonlocalExit is runtime.NonlocalExit
    with pytest.raises(runtime.NonlocalExit) as info:
        poutine.escape(lambda: pyro.sample("x", dist.Normal(0.0, 1.0)),
                       escape_fn=lambda msg: True)()
    assert info.value.site["name"] == "x"
    assert typing.is_typeddict(runtime.InferDict)
    assert {"enumerate", "expand", "is_auxiliary", "baseline"} <= set(
        runtime.InferDict.__annotations__)
    msg = runtime.new_message("sample", "x", dist.Normal(0.0, 1.0))
    assert runtime.apply_stack(initial_msg=msg) is msg and msg["done"]


def test_effectful_and_am_i_wrapped():
    @runtime.effectful(type="double")
    def double(x):
        return 2 * x

    class Triple(Messenger):
        def _pyro_double(self, msg):
            msg["value"] = 3 * msg["args"][0]

    assert not runtime.am_i_wrapped() and double(2) == 4
    with Triple():
        assert runtime.am_i_wrapped() and double(2) == 6


# ----------------------------------------------------------------- reparam


class Decenter:
    """A small reparameterizer (Pyro 1.9's protocol): x ~ Normal(loc, scale) becomes
    x = loc + scale * z with z ~ Normal(0, 1) drawn at site ``x_decentered``."""

    def __init__(self):
        self.seen_args_kwargs = []

    def apply(self, msg):
        fn = msg["fn"]
        self.seen_args_kwargs.append(self.args_kwargs)
        z = pyro.sample(f"{msg['name']}_decentered",
                        dist.Normal(torch.zeros_like(fn.loc), torch.ones_like(fn.scale)))
        value = fn.loc + fn.scale * z
        return {"fn": Delta(value, event_dim=0), "value": value, "is_observed": True}


def _reparam_model(loc, scale=2.0):
    with pyro.plate("p", 3):
        return pyro.sample("x", dist.Normal(loc, scale))


def test_reparam_handler_applies_the_reparameterizer():
    reparam = Decenter()
    handled = poutine.reparam(_reparam_model, config={"x": reparam})
    assert isinstance(handled, ReparamHandler) and unwrap(handled) is _reparam_model
    tr = poutine.trace(handled).get_trace(1.0, scale=2.0)
    z, x = tr.nodes["x_decentered"], tr.nodes["x"]
    assert not z["is_observed"] and [f.name for f in z["cond_indep_stack"]] == ["p"]
    assert z["value"].shape == (3,)
    assert x["is_observed"] and isinstance(x["fn"], Delta)
    assert torch.allclose(x["value"], 1.0 + 2.0 * z["value"])
    assert torch.equal(tr.nodes["_RETURN"]["value"], x["value"])
    # the log density is the decentered one (the Delta adds 0)
    expected = sum(normal_lp(v) for v in z["value"].tolist())
    assert tr.log_prob_sum().item() == pytest.approx(expected, rel=1e-6)
    # the reparameterizer saw the model's inputs, and only during the call
    assert reparam.seen_args_kwargs == [((1.0,), {"scale": 2.0})]
    assert reparam.args_kwargs is None


def test_reparam_with_a_config_function_skips_plate_sites():
    seen = []

    def config(msg):
        seen.append(msg["name"])
        return Decenter() if msg["name"] == "x" else None

    with poutine.trace() as tracer:
        with poutine.reparam(config=config):
            _reparam_model(0.0)
    assert seen == ["x", "x_decentered"]  # not "p", the plate's subsample site
    assert list(tracer.trace.nodes) == ["p", "x_decentered", "x"]
    assert isinstance(poutine.reparam(config=config), ReparamMessenger)


def test_reparam_old_protocol_warns_and_bad_results_are_errors():
    class Old:
        def __call__(self, name, fn, obs):
            return Delta(torch.full(fn.batch_shape, 7.0)), torch.full(fn.batch_shape, 7.0)

    with pytest.warns(FutureWarning, match="implement apply"):
        tr = poutine.trace(poutine.reparam(_reparam_model, config={"x": Old()})).get_trace(0.0)
    assert tr.nodes["x"]["value"].tolist() == [7.0] * 3 and tr.nodes["x"]["is_observed"]

    class Bad:
        def apply(self, msg):
            return msg["fn"]

    with pytest.raises(TypeError, match="Bad.apply at site 'x' must return a dict"):
        poutine.reparam(_reparam_model, config={"x": Bad()})(0.0)
    with pytest.raises(TypeError, match="config="):
        poutine.reparam(_reparam_model, config=3)


# ----------------------------------------------------------------- equalize


def _per_category():
    pyro.param("a_shift", torch.tensor(1.0))
    pyro.param("b_shift", torch.tensor(2.0))
    pyro.sample("a_std", dist.LogNormal(0.0, 1.0))
    with pyro.plate("p", 3):
        pyro.sample("b_std", dist.LogNormal(0.0, 2.0))
    pyro.sample("a_stdz", dist.LogNormal(0.0, 1.0))


def test_equalize_makes_later_sites_deterministic():
    tr = poutine.trace(poutine.equalize(_per_category, "[a-z]+_std")).get_trace()
    a, b = tr.nodes["a_std"], tr.nodes["b_std"]
    assert b["value"] is a["value"] and not a["is_observed"]
    assert b["is_observed"] and b["infer"]["_deterministic"]
    assert tr.nodes["a_stdz"]["value"] is not a["value"]  # names match whole
    tr.compute_log_prob()
    assert tr.nodes["b_std"]["log_prob"].abs().sum().item() == 0.0
    assert tr.log_prob_sum().item() == pytest.approx(
        (a["fn"].log_prob(a["value"]) + tr.nodes["a_stdz"]["log_prob"]).item())


def test_equalize_keep_dist_and_params():
    tr = poutine.trace(poutine.equalize(_per_category, ["a_std", "b_std"],
                                        keep_dist=True)).get_trace()
    a, b = tr.nodes["a_std"], tr.nodes["b_std"]
    assert b["value"] is a["value"] and b["is_observed"]
    tr.compute_log_prob()
    expected = dist.LogNormal(0.0, 2.0).log_prob(a["value"]).expand(3)
    assert torch.allclose(tr.nodes["b_std"]["log_prob"], expected)
    tr = poutine.trace(poutine.equalize(_per_category, "[a-z]_shift", "param")).get_trace()
    assert tr.nodes["b_shift"]["value"] is tr.nodes["a_shift"]["value"]
    # each run shares its own first value
    handled = poutine.equalize(_per_category, "[a-z]+_std")
    v1 = poutine.trace(handled).get_trace().nodes["b_std"]["value"]
    v2 = poutine.trace(handled).get_trace().nodes["b_std"]["value"]
    assert v1 is not v2


# ----------------------------------------------------------------- guide


class _MeanGuide(GuideMessenger):
    def get_posterior(self, name, prior):
        if name == "a":
            loc = pyro.param("a_loc", torch.tensor(0.3))
            return dist.Normal(loc, 0.5)
        return self.upstream_value("a") + 1.0  # a value: a point-mass posterior


def _guide_model(y):
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    with pyro.plate("p", 2):
        b = pyro.sample("b", dist.Normal(a, 1.0))
        pyro.sample("y", dist.Normal(b, 1.0), obs=y)


def test_guide_messenger_interleaves_model_and_guide():
    guide = _MeanGuide(_guide_model)
    y = torch.tensor([0.5, -0.5])
    samples = guide(y)
    assert set(samples) == {"a", "b", "y"} and samples["y"] is y
    a = samples["a"].item()
    assert samples["b"].tolist() == pytest.approx([a + 1.0] * 2)
    model_trace, guide_trace = guide.get_traces()
    assert list(model_trace.nodes) == ["a", "p", "b", "y"]
    assert list(guide_trace.nodes) == ["a_loc", "a", "p", "b"]
    assert isinstance(model_trace.nodes["a"]["fn"], dist.Normal)
    assert model_trace.nodes["a"]["fn"].loc.item() == 0.0
    assert guide_trace.nodes["a"]["fn"].loc.item() == pytest.approx(0.3)
    assert guide_trace.nodes["b"]["fn"].batch_shape == (2,)
    # the ELBO terms from the two traces
    b = a + 1.0
    model_lp = normal_lp(a) + 2 * normal_lp(b, a) + normal_lp(0.5, b) + normal_lp(-0.5, b)
    assert model_trace.log_prob_sum().item() == pytest.approx(model_lp, rel=1e-5)
    assert guide_trace.log_prob_sum().item() == pytest.approx(normal_lp(a, 0.3, 0.5), rel=1e-5)
    # log densities cached on one trace do not leak into the other
    model_trace2, guide_trace2 = guide.get_traces()
    assert model_trace2.log_prob_sum().item() == pytest.approx(model_lp, rel=1e-5)


def test_guide_messenger_is_abstract():
    with pytest.raises(TypeError):
        GuideMessenger(_guide_model)


# ------------------------------------------------------------ small helpers


def test_reentrant_messenger_handles_each_message_once():
    class Count(ReentrantMessenger):
        def __init__(self):
            super().__init__()
            self.count = 0

        def _pyro_sample(self, msg):
            self.count += 1

    m = Count()
    with m:
        with m:
            assert runtime._PYRO_STACK.count(m) == 1
            pyro.sample("x", dist.Normal(0.0, 1.0))
        assert m in runtime._PYRO_STACK
    assert m not in runtime._PYRO_STACK and m.count == 1


def test_unwrap():
    def f():
        return 1

    assert unwrap(f) is f
    assert unwrap(poutine.trace(poutine.condition(f, data={"x": 1.0}))) is f
    assert unwrap(poutine.block()(poutine.scale(f, scale=2.0))) is f
    assert unwrap(Messenger()(f)) is f


def test_poutine_validation_switches():
    assert poutine.is_validation_enabled()
    poutine.enable_validation(False)
    assert not poutine.is_validation_enabled() and not pyro.util.is_validation_enabled()
    poutine.enable_validation(True)
    assert poutine.is_validation_enabled()


def test_plate_messengers_take_pyros_parameters():
    with pytest.warns(FutureWarning, match="use_cuda"):
        plate = poutine.PlateMessenger("p", 4, subsample_size=2, use_cuda=False)
    with plate as ind:
        assert ind.shape == (2,)
    sub = poutine.SubsampleMessenger("s", 5, None, torch.tensor([0, 3]), -1, None, "cpu")
    with sub as ind:
        assert ind.tolist() == [0, 3]
