"""pyro.ops.jit.trace: traced functions that read pyro.param agree with eager ones, in
values and in gradients, and follow parameter updates."""
import warnings

import pytest
import torch
from torch.distributions import Normal, constraints

import pyro
import pyro.poutine as poutine
from pyro.ops.jit import CompiledFunction, trace


def model(x):
    loc = pyro.param("loc", torch.tensor(0.3))
    scale = pyro.param("scale", torch.tensor(0.5), constraint=constraints.positive)
    return pyro.sample("y", Normal(loc + x, scale))


def log_prob_fn(x, y):
    tr = poutine.trace(poutine.condition(model, data={"y": y})).get_trace(x)
    return tr.log_prob_sum()


def _eager_and_grads(x, y):
    value = log_prob_fn(x, y)
    leaves = [pyro.param(n).unconstrained() for n in ("loc", "scale")]
    return value, torch.autograd.grad(value, leaves)


@pytest.fixture
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_traced_value_and_gradients_match_eager(quiet):
    compiled = trace(log_prob_fn, ignore_warnings=True)
    assert isinstance(compiled, CompiledFunction)
    x, y = torch.randn(4), torch.randn(4)
    value = compiled(x, y)
    expected, expected_grads = _eager_and_grads(x, y)
    torch.testing.assert_close(value, expected)
    leaves = [pyro.param(n).unconstrained() for n in ("loc", "scale")]
    grads = torch.autograd.grad(compiled(x, y), leaves)
    for g, e in zip(grads, expected_grads):
        torch.testing.assert_close(g, e)
    # new inputs reuse the trace
    x2, y2 = torch.randn(4), torch.randn(4)
    torch.testing.assert_close(compiled(x2, y2), log_prob_fn(x2, y2))
    assert len(compiled.compiled) == 1


def test_traced_function_follows_param_updates_and_store_resets(quiet):
    compiled = trace(ignore_warnings=True)(log_prob_fn)  # decorator with arguments
    x, y = torch.randn(3), torch.randn(3)
    compiled(x, y)
    with torch.no_grad():
        pyro.param("loc").unconstrained().add_(1.5)
        pyro.param("scale").unconstrained().sub_(0.7)
    torch.testing.assert_close(compiled(x, y), log_prob_fn(x, y))
    pyro.clear_param_store()
    pyro.param("loc", torch.tensor(-2.0))
    torch.testing.assert_close(compiled(x, y), log_prob_fn(x, y))


def test_params_are_visible_to_enclosing_handlers(quiet):
    compiled = trace(log_prob_fn)
    x, y = torch.randn(2), torch.randn(2)
    compiled(x, y)
    with poutine.trace(param_only=True) as capture:
        compiled(x, y)
    assert set(capture.trace.nodes) >= {"loc", "scale"}


def test_unhashable_kwargs_are_refused():
    compiled = trace(lambda x, scale=1.0: x * scale)
    assert compiled(torch.ones(2), scale=2.0).tolist() == [2.0, 2.0]
    # lists / dicts are keyed by content (pyro-ppl accepts them; see
    # test_tutorial_regressions.py); a value with neither
    # a hash nor attributes cannot key the cache
    with pytest.raises(TypeError, match="hashable"):
        compiled(torch.ones(2), scale=bytearray(b"2"))


def _tracer_warnings(fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(*args)
    return [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]


def plate_log_prob(data):
    # plate sizes and argument checks are read in Python inside Pyro: fixed by the trace
    with poutine.trace() as tracer:
        with pyro.plate("data", data.size(0)):
            m = pyro.param("m", torch.full((), 0.1))
            pyro.sample("obs", Normal(m, torch.ones(())), obs=data)
    return tracer.trace.log_prob_sum()


def test_tracing_hides_pyro_internal_tracer_warnings_only():
    compiled = trace(plate_log_prob)
    data = torch.randn(5)
    assert _tracer_warnings(compiled, data) == []
    torch.testing.assert_close(compiled(data), plate_log_prob(data))

    def branching(data):  # the traced program's own Python branch on a tensor
        return plate_log_prob(data) * (2.0 if data.sum() > 0 else 3.0)

    caught = _tracer_warnings(trace(branching), data)
    assert caught and all(w.filename == __file__ for w in caught)


def test_validation_runs_eagerly_then_is_off_while_tracing():
    def bad_scale(data):
        s = pyro.param("s", torch.tensor(-1.0))
        return Normal(0.0, s, validate_args=None).log_prob(data).sum()

    assert pyro.util.is_validation_enabled()
    with pytest.raises(ValueError, match="scale"):
        trace(bad_scale)(torch.zeros(2))  # the first, eager run checks the values
    assert pyro.util.is_validation_enabled()  # restored after the trace
