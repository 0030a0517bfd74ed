"""MinimalReparam and AutoReparam: the reparameterizer chosen per site (as Pyro 1.9
chooses), the cached config, decorator use, and the site laws kept."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.reparam import (
    AutoReparam,
    GumbelSoftmaxReparam,
    LatentStableReparam,
    LocScaleReparam,
    MinimalReparam,
    ProjectedNormalReparam,
    StableReparam,
    Strategy,
    SymmetricStableReparam,
    TransformReparam,
)


def model():
    pyro.sample("normal", dist.Normal(0.0, 1.0))
    pyro.sample("lognormal", dist.LogNormal(0.0, 1.0))
    pyro.sample("stable", dist.Stable(1.5, 0.3))
    pyro.sample("pn", dist.ProjectedNormal(torch.ones(3)))
    pyro.sample("relaxed", dist.RelaxedOneHotCategorical(torch.tensor(0.5),
                                                         logits=torch.zeros(3)))
    pyro.sample("studentt", dist.StudentT(3.0, 0.0, 1.0))
    pyro.sample("obs_sym", dist.Stable(1.5, 0.0), obs=torch.tensor(1.0))
    pyro.sample("obs_skew", dist.Stable(1.5, 0.3), obs=torch.tensor(1.0))
    pyro.sample("obs_normal", dist.Normal(0.0, 1.0), obs=torch.tensor(1.0))
    pyro.sample("gamma", dist.Gamma(2.0, 1.0))
    pyro.sample("mvn", dist.MultivariateNormal(torch.zeros(2), torch.eye(2)))
    pyro.sample("with_log_prob", dist.StableWithLogProb(1.5, 0.0))
    pyro.sample("exp_stable", dist.TransformedDistribution(
        dist.Stable(1.5, 0.3), [dist.transforms.ExpTransform()]))
    pyro.sample("masked", dist.Normal(0.0, 1.0).mask(False))
    pyro.sample("vector", dist.Normal(torch.zeros(2), 1.0).to_event(1))


def _chosen(strategy):
    poutine.trace(poutine.reparam(model, strategy)).get_trace()
    return {name: type(r) for name, r in strategy.config.items() if r is not None}


def test_minimal_choices():
    chosen = _chosen(MinimalReparam())
    assert chosen == {
        "stable": LatentStableReparam,
        "pn": ProjectedNormalReparam,
        "obs_sym": SymmetricStableReparam,
        "obs_skew": StableReparam,
        "exp_stable": TransformReparam,
        "exp_stable_base": LatentStableReparam,
    }
    assert pyro.get_param_store().keys() == set()


@pytest.mark.parametrize("centered", [None, 0.0])
def test_auto_choices(centered):
    strategy = AutoReparam(centered=centered)
    chosen = _chosen(strategy)
    assert chosen == {
        "normal": LocScaleReparam,
        "lognormal": TransformReparam,
        "lognormal_base": LocScaleReparam,
        "stable": LocScaleReparam,
        "stable_decentered": LatentStableReparam,
        "pn": ProjectedNormalReparam,
        "pn_normal": LocScaleReparam,
        "relaxed": GumbelSoftmaxReparam,
        "studentt": LocScaleReparam,
        "obs_sym": SymmetricStableReparam,
        "obs_skew": StableReparam,
        "with_log_prob": LocScaleReparam,
        "exp_stable": TransformReparam,
        "exp_stable_base": LocScaleReparam,
        "exp_stable_base_decentered": LatentStableReparam,
        "vector": LocScaleReparam,
    }
    assert strategy.config["studentt"].shape_params == ("df",)
    assert strategy.config["stable"].shape_params == ("stability", "skew")
    names = set(pyro.get_param_store().keys())
    if centered is None:
        assert "normal_centered" in names and "vector_centered" in names
    else:
        assert names == set()
    with pytest.raises(ValueError, match="centered"):
        AutoReparam(centered=2.0)


def test_config_is_cached_and_reusable():
    calls = []

    class Counting(Strategy):
        def configure(self, msg):
            calls.append(msg["name"])
            return LocScaleReparam(0.0) if msg["name"] == "x" else None

    def m():
        pyro.sample("x", dist.Normal(1.0, 2.0))

    strategy = Counting()
    for _ in range(3):
        poutine.trace(poutine.reparam(m, strategy)).get_trace()
    assert calls == ["x", "x_decentered"]
    # the filled config works on its own
    trace = poutine.trace(poutine.reparam(m, strategy.config)).get_trace()
    assert "x_decentered" in trace.nodes


def test_decorator_keeps_laws():
    n = 20000

    @AutoReparam(centered=0.0)
    def decorated():
        with pyro.plate("draws", n):
            loc = pyro.sample("loc", dist.Normal(1.0, 2.0))
            return pyro.sample("y", dist.LogNormal(loc, 0.5))

    trace = poutine.trace(decorated).get_trace()
    assert "loc_decentered" in trace.nodes and "y_base_decentered" in trace.nodes
    log_y = trace.nodes["y"]["value"].log()
    sd = math.sqrt(4.0 + 0.25)  # log y = loc + 0.5 eps
    assert abs(log_y.mean() - 1.0) < 5 * sd / math.sqrt(n)
    assert abs(log_y.std() - sd) < 5 * sd / math.sqrt(2 * n)


def test_minimal_makes_stable_model_trainable():
    optim = pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")
    autoguide = pytest.importorskip("pyro.infer.autoguide", reason="needs pyro-autoguide")
    from pyro.infer import SVI, Trace_ELBO

    data = torch.tensor([0.3, -0.8, 1.1])

    @MinimalReparam()
    def stable_model():
        x = pyro.sample("x", dist.Stable(1.7, 0.2))
        with pyro.plate("data", 3):
            pyro.sample("y", dist.Stable(1.5, 0.0, 1.0, x), obs=data)

    guide = autoguide.AutoNormal(stable_model)
    svi = SVI(stable_model, guide, optim.Adam({"lr": 0.01}), Trace_ELBO())
    losses = [svi.step() for _ in range(20)]
    assert all(math.isfinite(loss) for loss in losses)
