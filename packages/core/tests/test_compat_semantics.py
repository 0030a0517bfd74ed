"""Programs pyro-ppl 1.9 accepts run here with the same results (issue 8, item 2): each
test is one place where the project used to refuse or change what Pyro accepts."""
import math
import warnings

import pytest
import torch
import torch.distributions as dist
from torch.distributions import constraints

import pyro
from pyro import poutine
from pyro.poutine.messenger import Messenger
from pyro.poutine.util import site_is_subsample


def test_obs_checked_by_broadcasting_not_stricter():
    # (100, 1) data in a plate of 100 over batch_shape (100,): Pyro accepts it and the
    # log density broadcasts to (100, 100).
    data = torch.linspace(-1, 1, 100)

    def model():
        with pyro.plate("data", 100):
            pyro.sample("x", dist.Normal(torch.zeros(100), 1.0), obs=data[:, None])

    tr = poutine.trace(model).get_trace()
    tr.compute_log_prob()
    assert tr.nodes["x"]["log_prob"].shape == (100, 100)
    expected = 100 * dist.Normal(0.0, 1.0).log_prob(data).sum()
    assert torch.allclose(tr.log_prob_sum(), expected)


def test_obs_that_cannot_broadcast_is_an_error_naming_the_site():
    def model():
        pyro.sample("x", dist.Normal(torch.zeros(4), 1.0), obs=torch.zeros(3))

    with pytest.raises(ValueError, match=r"\(3,\) at site 'x' does not broadcast.*\(4,\)"):
        poutine.trace(model).get_trace()


def test_plate_without_size_takes_the_size_of_its_sites():
    def model():
        with pyro.plate("data") as ind:
            x = pyro.sample("x", dist.Normal(torch.zeros(7), 1.0))
        return ind, x

    tr = poutine.trace(model).get_trace()
    ind, x = tr.nodes["_RETURN"]["value"]
    assert ind is None and x.shape == (7,)
    (frame,) = tr.nodes["x"]["cond_indep_stack"]
    assert (frame.name, frame.dim, frame.size) == ("data", -1, -1)
    assert "data" not in tr.nodes  # a plate with no size records no subsample site
    assert tr.nodes["x"]["scale"] == 1.0


def test_param_init_outside_constraint_warns_and_is_stored():
    with pytest.warns(RuntimeWarning, match=r"pyro.param\('s'\).*outside its constraint"):
        value = pyro.param("s", torch.tensor([-1.0, 2.0]), constraint=constraints.positive)
    # as in Pyro: stored through the constraint's transform (log of -1 is NaN)
    assert math.isnan(value[0].item()) and value[1].item() == pytest.approx(2.0)
    with pyro.validation_enabled(False), warnings.catch_warnings():
        warnings.simplefilter("error")
        pyro.param("t", torch.tensor(-1.0), constraint=constraints.positive)


def test_condition_and_obs_keep_the_users_value_object():
    def model():
        return pyro.sample("x", dist.Normal(0.0, 1.0))

    value = 1.5
    assert poutine.condition(model, data={"x": value})() is value
    data = torch.tensor([0.5])
    assert poutine.condition(model, data={"x": data})() is data

    # the log density is computed at the equivalent tensor, validation on
    tr = poutine.trace(poutine.condition(model, data={"x": value})).get_trace()
    assert tr.nodes["x"]["value"] is value
    assert tr.log_prob_sum().item() == pytest.approx(-0.5 * math.log(2 * math.pi) - 1.125)

    obs = 2.5
    with poutine.trace() as tracer:
        assert pyro.sample("y", dist.Normal(0.0, 1.0), obs=obs) is obs
    assert tracer.trace.nodes["y"]["value"] is obs


def test_observe_outside_inference_warns_as_pyro():
    with pytest.warns(RuntimeWarning, match="observe a value outside of inference at y"):
        assert pyro.sample("y", dist.Normal(0.0, 1.0), obs=3.0) == 3.0


class _PyroHooks(Messenger):
    """Overrides Pyro's spelling of the hooks."""

    def __init__(self):
        super().__init__()
        self.log = []

    def _process_message(self, msg):
        self.log.append(("process", msg["name"]))
        super()._process_message(msg)

    def _postprocess_message(self, msg):
        self.log.append(("postprocess", msg["name"]))
        super()._postprocess_message(msg)


class _PyroHooksAndSample(_PyroHooks):
    def _pyro_sample(self, msg):
        self.log.append(("_pyro_sample", msg["name"]))


class _SeedHooks(Messenger):
    """Overrides Mini Pyro's spelling."""

    def __init__(self):
        super().__init__()
        self.log = []

    def process_message(self, msg):
        self.log.append(("process", msg["name"]))

    def postprocess_message(self, msg):
        self.log.append(("postprocess", msg["name"]))


@pytest.mark.parametrize("cls,expected", [
    (_PyroHooks, [("process", "z"), ("postprocess", "z")]),
    (_PyroHooksAndSample, [("process", "z"), ("_pyro_sample", "z"), ("postprocess", "z")]),
    (_SeedHooks, [("process", "z"), ("postprocess", "z")]),
])
def test_messenger_hooks_of_either_spelling_are_called(cls, expected):
    with cls() as m:
        pyro.sample("z", dist.Normal(0.0, 1.0))
    assert m.log == expected
    # both spellings name the same hook
    assert cls.process_message is cls._process_message
    assert cls.postprocess_message is cls._postprocess_message


def test_messenger_pyro_hook_can_stop_the_message():
    class Stop(Messenger):
        def _process_message(self, msg):
            msg["value"] = torch.tensor(3.0)
            msg["stop"] = True

    with poutine.trace() as tracer:
        with Stop():
            x = pyro.sample("x", dist.Normal(0.0, 1.0))
    assert x.item() == 3.0 and "x" not in tracer.trace.nodes


def _plated_model():
    pyro.param("W", torch.zeros(10, 3))
    with pyro.plate("data_plate", 100):
        pyro.sample("z", dist.Independent(dist.Normal(torch.zeros(100, 12), 1.0), 1))
        with pyro.plate("inner", 2, dim=-2):
            pyro.sample("w", dist.Normal(0.0, 1.0))
    pyro.sample("s", dist.Normal(0.0, 1.0))


def test_plates_are_recorded_as_their_subsample_sites():
    tr = poutine.trace(_plated_model).get_trace()
    assert list(tr.nodes) == ["_INPUT", "W", "data_plate", "z", "inner", "w", "s", "_RETURN"]
    site = tr.nodes["data_plate"]
    assert site_is_subsample(site) and site["type"] == "sample" and not site["is_observed"]
    assert torch.equal(site["value"], torch.arange(100))
    # a nested plate's site lies inside the outer plate, and is never expanded by it
    assert [f.name for f in tr.nodes["inner"]["cond_indep_stack"]] == ["data_plate"]
    assert tr.nodes["inner"]["value"].shape == (2,)
    # the plate sites add nothing to the log density
    tr.compute_log_prob()
    expected = sum(tr.nodes[n]["log_prob"].sum() for n in ("z", "w", "s"))
    assert torch.allclose(tr.log_prob_sum(), expected)
    assert tr.stochastic_nodes == ["z", "w", "s"]


def test_format_shapes_prints_plate_rows_as_pyro():
    # Expected strings printed by pyro-ppl 1.9.2 for the same model.
    tr = poutine.trace(_plated_model).get_trace()
    assert tr.format_shapes() == (
        "  Trace Shapes:           \n"
        "   Param Sites:           \n"
        "              W    10 3   \n"
        "  Sample Sites:           \n"
        "data_plate dist       |   \n"
        "          value   100 |   \n"
        "         z dist   100 | 12\n"
        "          value   100 | 12\n"
        "     inner dist       |   \n"
        "          value     2 |   \n"
        "         w dist 2 100 |   \n"
        "          value 2 100 |   \n"
        "         s dist       |   \n"
        "          value       |   "
    )
    tr.compute_log_prob()
    assert tr.format_shapes(title="Model Trace:", last_site="w") == (
        "   Model Trace:           \n"
        "   Param Sites:           \n"
        "              W    10 3   \n"
        "  Sample Sites:           \n"
        "data_plate dist       |   \n"
        "          value   100 |   \n"
        "       log_prob       |   \n"
        "         z dist   100 | 12\n"
        "          value   100 | 12\n"
        "       log_prob   100 |   \n"
        "     inner dist       |   \n"
        "          value     2 |   \n"
        "       log_prob       |   \n"
        "         w dist 2 100 |   \n"
        "          value 2 100 |   \n"
        "       log_prob 2 100 |   "
    )
    assert poutine.Trace().format_shapes() == "Trace Shapes:"


def test_sequential_plate_and_subsampled_plate_are_recorded():
    def model():
        for i in pyro.plate("seq", 3):
            pyro.sample(f"x{i}", dist.Normal(0.0, 1.0))
        with pyro.plate("sub", 10, subsample_size=4) as ind:
            pyro.sample("y", dist.Normal(0.0, 1.0))
        return ind

    tr = poutine.trace(model).get_trace()
    assert torch.equal(tr.nodes["seq"]["value"], torch.arange(3))
    assert torch.equal(tr.nodes["sub"]["value"], tr.nodes["_RETURN"]["value"])
    assert tr.nodes["y"]["scale"] == pytest.approx(10 / 4)
    # replaying the trace replays the subsample
    again = poutine.trace(poutine.replay(model, trace=tr)).get_trace()
    assert torch.equal(again.nodes["sub"]["value"], tr.nodes["sub"]["value"])


def test_a_plate_entered_twice_in_one_run_is_accepted():
    def model():
        with pyro.plate("data", 3):
            pyro.sample("x", dist.Normal(0.0, 1.0))
        with pyro.plate("data", 3):
            pyro.sample("y", dist.Normal(0.0, 1.0))

    tr = poutine.trace(model).get_trace()
    assert list(tr.nodes) == ["_INPUT", "data", "x", "y", "_RETURN"]


def test_trace_fn_and_trace_wrapper_are_the_same_handler():
    def model(a, b=1):
        pyro.sample("x", dist.Normal(0.0, 1.0))
        return a + b

    for handler in (poutine.trace(model), poutine.trace()(model)):
        assert isinstance(handler, poutine.trace_messenger.TraceHandler)
        assert handler.__wrapped__ is model and handler.__name__ == "model"
        tr = handler.get_trace(2, b=3)
        assert tr.nodes["_INPUT"]["args"] == (2,) and tr.nodes["_INPUT"]["kwargs"] == {"b": 3}
        assert tr.nodes["_RETURN"]["value"] == 5
        assert handler(1) == 2 and handler.trace.nodes["_RETURN"]["value"] == 2
    msngr = poutine.trace()
    assert isinstance(msngr, poutine.TraceMessenger)
    with msngr:
        model(1)
    assert list(msngr.trace.nodes) == ["x"]
    assert msngr.get_trace() is msngr.trace
