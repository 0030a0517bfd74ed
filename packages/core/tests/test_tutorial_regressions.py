"""Regressions found by running Pyro's tutorials unchanged (effect handlers, JIT)."""

import pytest
import torch
import torch.distributions as dist

import pyro
import pyro.poutine as poutine
from pyro.ops.jit import trace as jit_trace


class _Lazy:
    """An unevaluated call, as in the effect-handlers tutorial's LazyValue."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args


class _LazyMessenger(poutine.messenger.Messenger):
    def _process_message(self, msg):
        if msg["type"] == "sample" and not msg["done"]:
            msg["done"] = True
            msg["value"] = _Lazy(msg["fn"], *msg["args"])


def test_handler_may_value_a_site_whose_fn_is_not_a_distribution():
    not_a_distribution = _Lazy(dist.Normal, 0.0, 1.0)
    with _LazyMessenger():
        value = pyro.sample("x", not_a_distribution)
    assert isinstance(value, _Lazy) and value.fn is not_a_distribution


def test_drawing_from_a_non_distribution_still_names_the_site():
    with pytest.raises(TypeError, match="pyro.sample\\('x', ...\\) expects a distribution"):
        poutine.trace(lambda: pyro.sample("x", _Lazy(dist.Normal, 0.0, 1.0))).get_trace()


def test_jit_static_kwargs_may_be_lists_and_dicts():
    # The JIT tutorial passes model sizes as a list keyword argument.
    calls = []

    @jit_trace
    def fn(x, sizes=(), opts=None):
        calls.append(tuple(sizes))
        return x * sum(sizes) + opts["shift"]

    x = torch.tensor(2.0)
    assert fn(x, sizes=[4, 5], opts={"shift": 1.0}).item() == 19.0
    n = len(calls)
    assert fn(x, sizes=[4, 5], opts={"shift": 1.0}).item() == 19.0
    assert len(calls) == n  # same content, cached trace replayed
    assert fn(x, sizes=[1, 2], opts={"shift": 0.0}).item() == 6.0
    assert len(fn.compiled) == 2


def test_jit_kwargs_namespace_and_time_compilation():
    # Pyro's HMM example: args=argparse.Namespace(...) as a static keyword argument and
    # jit_options={"time_compilation": ...}.
    import argparse

    compiled = jit_trace(lambda x, args=None: x * args.k, jit_options={"time_compilation": True})
    x = torch.tensor(3.0)
    assert compiled(x, args=argparse.Namespace(k=2)).item() == 6.0
    assert compiled(x, args=argparse.Namespace(k=2)).item() == 6.0
    assert len(compiled.compiled) == 1
    assert compiled(x, args=argparse.Namespace(k=5)).item() == 15.0
    assert len(compiled.compiled) == 2
    assert compiled.compile_time is not None and compiled.compile_time >= 0.0


class _ShapelessMarginal:
    """A distribution declaring no batch / event shapes, as the RSA tutorials'
    HashingMarginal (a subclass of Pyro's abstract ``pyro.distributions.Distribution``)."""

    def sample(self):
        return torch.tensor(1.0)

    def log_prob(self, value):
        return torch.tensor(-0.5)


def test_observe_from_a_distribution_without_shapes():
    def model():
        pyro.sample("x", _ShapelessMarginal(), obs=torch.tensor(2.0))

    with pyro.validation_enabled(True):
        tr = poutine.trace(model).get_trace()
    assert tr.log_prob_sum().item() == -0.5
