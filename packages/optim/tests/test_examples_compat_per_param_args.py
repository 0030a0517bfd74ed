"""Pyro's AIR example passes ``Adam(per_param_optim_args)`` with
``def per_param_optim_args(param_name)`` (one argument, as in Pyro's SVI tutorial's
``per_param_callable(param_name)``); Pyro also calls two-argument callables with
``(module_name, param_name)``. Which form is chosen follows the callable's signature, as
pyro-ppl 1.9.2 does (recorded below)."""
import pytest
import torch

pyro = pytest.importorskip("pyro")
pytest.importorskip("pyro.infer", reason="needs pyro-infer for SVI")
pytest.importorskip("pyro.distributions", reason="needs pyro-distributions")

import pyro.distributions as dist  # noqa: E402
from pyro.infer import SVI, Trace_ELBO  # noqa: E402
from pyro.optim import Adam, ClippedAdam  # noqa: E402
from pyro.optim.optim import per_param_arguments  # noqa: E402


def _run(optim, module_name="net", param_name="plain"):
    """One SVI step of a model with a module's params and one plain param."""
    lin = torch.nn.Linear(2, 1)

    def model():
        pyro.module(module_name, lin)
        pyro.param(param_name, torch.tensor(1.0))
        pyro.sample("x", dist.Normal(0.0, 1.0), obs=torch.tensor(0.5))

    pyro.clear_param_store()
    SVI(model, lambda: None, optim, Trace_ELBO()).step()


def _recorder(kind):
    seen = []
    if kind == "one":
        def fn(param_name):
            seen.append((param_name,))
            return {"lr": 0.1}
    elif kind == "varargs":
        def fn(*args):
            seen.append(args)
            return {"lr": 0.1}
    elif kind == "two":
        def fn(module_name, param_name):
            seen.append((module_name, param_name))
            return {"lr": 0.1}
    else:  # two parameters, one with a default: still the two-name form
        def fn(param_name, extra=None):
            seen.append((param_name, extra))
            return {"lr": 0.1}
    return fn, seen


@pytest.mark.parametrize("optim_class", [Adam, ClippedAdam])
@pytest.mark.parametrize("kind, expected", [
    ("one", {("net.weight",), ("net.bias",), ("plain",)}),
    ("varargs", {("net.weight",), ("net.bias",), ("plain",)}),
    ("two", {("net", "weight"), ("net", "bias"), ("plain", "plain")}),
    ("default", {("net", "weight"), ("net", "bias"), ("plain", "plain")}),
])
def test_per_param_callables_get_pyros_arguments(optim_class, kind, expected):
    fn, seen = _recorder(kind)
    _run(optim_class(fn))
    assert set(seen) == expected


def test_one_argument_callable_sets_per_parameter_learning_rates():
    # AIR: a higher learning rate for the baseline network's parameters
    def per_param_optim_args(param_name):
        return {"lr": 1e-3 if "bl_" in param_name else 1e-4}

    optim = Adam(per_param_optim_args)
    _run(optim, "bl_predict", "h_init")
    store = pyro.get_param_store()
    lrs = {name: optim.optim_objs[store[name].unconstrained()].param_groups[0]["lr"]
           for name in ["bl_predict$$$weight", "h_init"]}
    assert lrs == {"bl_predict$$$weight": 1e-3, "h_init": 1e-4}


def test_callable_without_a_readable_signature_gets_the_two_names():
    assert per_param_arguments(max, "net$$$weight") == ("net", "weight")
