"""An invalid distribution parameter met during SVI names the sample site and, where the
value is a pyro.param, the param (torch's own message names neither)."""
import pytest
import torch
from torch.distributions import constraints

import pyro
import pyro.distributions as dist
from pyro.infer import SVI, Trace_ELBO
from pyro.site_errors import explain_invalid_parameter

optim = pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")

DATA = torch.tensor([0.0, 0.1, -0.1])


def model():
    loc = pyro.param("loc", torch.tensor(0.0))
    scale = pyro.param("scale", torch.tensor(0.05))  # unconstrained: SGD can make it negative
    with pyro.plate("data", 3):
        pyro.sample("obs", dist.Normal(loc, scale), obs=DATA)


def test_scale_driven_negative_by_svi_names_site_and_param():
    svi = SVI(model, lambda: None, optim.SGD({"lr": 0.01}), Trace_ELBO())
    with pytest.raises(ValueError) as info:
        for _ in range(100):
            svi.step()
    msg = str(info.value)
    assert "sample site 'obs'" in msg and "pyro.param('scale')" in msg
    assert "Normal parameter 'scale'" in msg and "constraint" in msg
    assert "pyro.param('loc')" not in msg


def test_multiline_site_and_derived_value():
    pyro.param("s", torch.tensor(1.0), constraint=constraints.positive)

    def bad_model():
        s = pyro.param("s")
        pyro.sample(
            "z",
            dist.LogNormal(0.0, -2.0 * s),
        )

    with pytest.raises(ValueError) as info:
        SVI(bad_model, lambda: None, optim.Adam({"lr": 0.1}), Trace_ELBO()).step()
    msg = str(info.value)
    assert "sample site 'z'" in msg and "pyro.param" not in msg.split(".")[0]


def test_constrained_param_value_is_recognized():
    pyro.param("p", torch.tensor([0.2, 0.8]), constraint=constraints.simplex)

    def m():
        probs = pyro.param("p")
        pyro.sample("c", dist.Bernoulli(probs * 2.0))  # 1.6 > 1: derived, not the param
        pyro.sample("d", dist.Bernoulli(probs.flip(0) + 0.3))

    with pytest.raises(ValueError, match="sample site 'c'") as info:
        SVI(m, lambda: None, optim.Adam({"lr": 0.1}), Trace_ELBO()).step()
    assert "pyro.param" not in str(info.value).split("Expected")[0]

    def m2():
        pyro.sample("x", dist.Normal(0.0, pyro.param("p")[0] - 1.0))

    with pytest.raises(ValueError, match="sample site 'x'"):
        SVI(m2, lambda: None, optim.Adam({"lr": 0.1}), Trace_ELBO()).evaluate_loss()


def test_other_errors_pass_through_unchanged():
    assert explain_invalid_parameter(ValueError("shape mismatch")) is None
    assert explain_invalid_parameter(RuntimeError("x")) is None

    def m():
        raise ValueError("my own error")

    with pytest.raises(ValueError, match="^my own error$"):
        SVI(m, lambda: None, optim.Adam({"lr": 0.1}), Trace_ELBO()).step()


def test_param_gone_nan_is_named():
    def m():
        loc = pyro.param("loc", torch.tensor(0.0))
        pyro.sample("y", dist.Normal(loc, 1.0), obs=torch.tensor(1.0))

    pyro.param("loc", torch.tensor(0.0))
    pyro.get_param_store()["loc"] = torch.tensor(float("nan"))
    with pytest.raises(ValueError, match=r"sample site 'y'.*pyro.param\('loc'\)"):
        SVI(m, lambda: None, optim.Adam({"lr": 0.1}), Trace_ELBO()).step()
