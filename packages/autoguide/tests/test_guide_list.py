"""AutoGuideList: composition of automatic and hand-written parts, merged results, shared
plates, and the errors for overlapping or foreign parts."""
import copy
import math

import pytest
import torch
from scipy import stats

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.distributions import constraints
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import (
    AutoCallable,
    AutoDelta,
    AutoDiagonalNormal,
    AutoGuideList,
    AutoMultivariateNormal,
    AutoNormal,
    init_to_value,
)

_optim = pytest.importorskip("pyro.optim")
ClippedAdam = _optim.ClippedAdam

PHI_1 = stats.norm.cdf(1.0)
FLIPS = torch.tensor([1.0] * 6 + [0.0] * 4)
YS = torch.tensor([0.5, 1.5, 2.5])
# p: Beta(10, 10) prior, 6 heads 4 tails -> Beta(16, 14), mode 15/28.
# mu: N(0, 1) prior, three N(mu, 1) observations summing to 4.5 -> N(4.5/4, 1/4);
# sigma = sqrt(2) z, z ~ N(0, 1): independent of the data, so its posterior is its prior.
P_MODE = 15 / 28
MU_MEAN, MU_SD = 4.5 / 4, 0.5


def model(flips, ys):
    p = pyro.sample("p", dist.Beta(10.0, 10.0))
    with pyro.plate("flips", len(flips)):
        pyro.sample("obs", dist.Bernoulli(p), obs=flips)
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    pyro.sample("w", dist.Normal(0.0, math.sqrt(2.0)))
    with pyro.plate("ys", len(ys)):
        pyro.sample("y", dist.Normal(mu, 1.0), obs=ys)


def train(guide, steps=400, particles=64):
    svi = SVI(model, guide, ClippedAdam({"lr": 0.05, "lrd": 0.993}),
              Trace_ELBO(num_particles=particles, vectorize_particles=particles > 1))
    for _ in range(steps):
        svi.step(FLIPS, YS)


def test_seed_composition_delta_plus_diagonal_normal():
    guide = AutoGuideList(model)
    guide.append(AutoDelta(poutine.block(model, expose=["p"])))
    guide.append(AutoDiagonalNormal(poutine.block(model, hide=["p"])))
    assert len(guide) == 2 and isinstance(guide[0], AutoDelta)
    assert [type(g) for g in guide] == [AutoDelta, AutoDiagonalNormal]
    train(guide)
    values = guide(FLIPS, YS)
    assert set(values) == {"p", "mu", "w"}
    # p is a point mass at the MAP (deterministic part of the loss); mu and w are the exact
    # independent Normal posteriors (in the family). Over seeds 0-3 of this setup the
    # largest errors were 1e-7 (p), 0.008 / 0.024 (mean of mu / w), 0.005 / 0.015 (their
    # sds); the tolerances are about 3x those (the ones of p: Adam's final step size).
    med = guide.median(FLIPS, YS)
    assert med["p"].item() == pytest.approx(P_MODE, abs=1e-4)
    assert med["mu"].item() == pytest.approx(MU_MEAN, abs=0.03)
    assert med["w"].item() == pytest.approx(0.0, abs=0.07)
    q = guide.quantiles([0.5, PHI_1], FLIPS, YS)
    assert set(q) == {"p", "mu", "w"}
    assert torch.equal(q["p"], med["p"].expand(2))  # a point mass's quantiles
    assert (q["mu"][1] - q["mu"][0]).item() == pytest.approx(MU_SD, abs=0.02)
    assert (q["w"][1] - q["w"][0]).item() == pytest.approx(math.sqrt(2.0), abs=0.05)
    # the list's parameters are its parts'
    assert len(list(guide.parameters())) == 3  # AutoDelta.p, loc, scale
    a, b = guide(FLIPS, YS), guide(FLIPS, YS)
    assert a["p"].item() == b["p"].item() and a["mu"].item() != b["mu"].item()


def test_callable_custom_part():
    def custom(flips, ys):
        loc = pyro.param("custom_loc", torch.tensor(0.3))
        scale = pyro.param("custom_scale", torch.tensor(0.2), constraint=constraints.positive)
        pyro.sample("mu", dist.Normal(loc, scale))
        return {"extra": loc * 2}

    guide = AutoGuideList(model)
    guide.append(AutoNormal(poutine.block(model, hide=["mu"])))
    guide.append(custom)
    assert isinstance(guide[1], AutoCallable)
    values = guide(FLIPS, YS)
    assert set(values) == {"p", "w", "mu", "extra"}
    tr = poutine.trace(guide).get_trace(FLIPS, YS)
    assert tr.nodes["mu"]["fn"].loc.item() == pytest.approx(0.3)
    assert tr.nodes["mu"]["fn"].scale.item() == pytest.approx(0.2)
    # without a median callable the custom part contributes nothing; with one it does
    assert set(guide.median(FLIPS, YS)) == {"p", "w"}
    guide2 = AutoGuideList(model)
    guide2.append(AutoNormal(poutine.block(model, hide=["mu"])))
    guide2.append(AutoCallable(model, custom,
                               median=lambda *a: {"mu": pyro.param("custom_loc").detach()}))
    assert guide2.median(FLIPS, YS)["mu"].item() == pytest.approx(0.3)
    # SVI trains the custom part's parameters too; its optimum is the exact posterior
    # (over seeds 0-3: errors below 0.007 on the loc, 0.006 on the scale)
    train(guide2, steps=400)
    assert pyro.param("custom_loc").item() == pytest.approx(MU_MEAN, abs=0.03)
    assert pyro.param("custom_scale").item() == pytest.approx(MU_SD, abs=0.02)


def test_parts_share_a_subsampled_plate():
    data = torch.arange(8.0)

    def local(data):
        with pyro.plate("items", 8, subsample_size=3) as idx:
            a = pyro.sample("a", dist.Normal(0.0, 1.0))
            b = pyro.sample("b", dist.Normal(0.0, 1.0))
            pyro.sample("x", dist.Normal(a + b, 1.0), obs=data[idx])

    guide = AutoGuideList(local)
    guide.append(AutoDelta(poutine.block(local, expose=["a"]),
                           init_loc_fn=init_to_value(values={"a": torch.zeros(3)})))
    guide.append(AutoNormal(poutine.block(local, hide=["a"]),
                            init_loc_fn=init_to_value(values={"b": torch.zeros(3)}),
                            init_scale=1e-3))
    guide(data)
    store = pyro.get_param_store()
    with torch.no_grad():
        store["AutoDelta.a"] = torch.arange(8.0) * 100
        store["AutoNormal.locs.b"] = torch.arange(8.0) * 10
    tr = poutine.trace(guide).get_trace(data)
    idx = tr.nodes["items"]["value"]
    assert idx.shape == (3,)
    # one subsample, used by both parts
    assert torch.equal(tr.nodes["a"]["value"], idx.float() * 100)
    assert torch.allclose(tr.nodes["b"]["value"], idx.float() * 10, atol=0.01)
    svi = SVI(local, guide, ClippedAdam({"lr": 0.01}), Trace_ELBO())
    assert math.isfinite(svi.step(data))
    # parts called alone (outside the list) make their own plates again
    assert guide[0](data)["a"].shape == (3,)


def test_overlapping_parts_are_an_error():
    guide = AutoGuideList(model)
    guide.append(AutoNormal(model))
    guide.append(AutoDelta(poutine.block(model, expose=["mu"])))
    with pytest.raises(ValueError, match=r"site 'mu' is guided by part 0 \(AutoNormal\)"):
        guide(FLIPS, YS)


def test_append_errors():
    guide = AutoGuideList(model)
    part = AutoDiagonalNormal(poutine.block(model, expose=["mu"]))
    guide.append(part)
    with pytest.raises(RuntimeError, match="already a part"):
        AutoGuideList(model).append(part)
    with pytest.raises(ValueError, match="prefix 'AutoDiagonalNormal'"):
        guide.append(AutoDiagonalNormal(poutine.block(model, expose=["w"])))
    with pytest.raises(TypeError, match="AutoGuide or a callable"):
        guide.append(3)
    with pytest.raises(ValueError, match="no parts"):
        AutoGuideList(model)(FLIPS, YS)


def test_two_continuous_parts_with_distinct_prefixes():
    guide = AutoGuideList(model)
    guide.append(AutoMultivariateNormal(poutine.block(model, expose=["mu", "w"])))
    guide.append(AutoDiagonalNormal(poutine.block(model, expose=["p"]), prefix="p_guide"))
    values = guide(FLIPS, YS)
    assert set(values) == {"p", "mu", "w"}
    names = set(pyro.get_param_store().keys())
    assert {"p_guide.loc", "AutoMultivariateNormal.scale_tril"} <= names
    assert 0 < values["p"].item() < 1


def test_part_of_another_model_is_an_error():
    def other(*args):
        pyro.sample("q", dist.Normal(0.0, 1.0))

    guide = AutoGuideList(model)
    guide.append(AutoNormal(other))
    with pytest.raises(ValueError, match="'q', which is not a latent site of the model"):
        guide(FLIPS, YS)


def test_deepcopy_relinks_the_parts_to_the_copy():
    guide = AutoGuideList(model)
    guide.append(AutoDelta(poutine.block(model, expose=["p"])))
    guide.append(AutoNormal(poutine.block(model, hide=["p"])))
    guide(FLIPS, YS)
    clone = copy.deepcopy(guide)
    assert all(part._master() is clone for part in clone)
    assert all(part._master() is guide for part in guide)
    assert set(clone(FLIPS, YS)) == {"p", "mu", "w"}


def _saveable_model():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.LogNormal(0.0, 1.0))
    pyro.sample("y", dist.Normal(a, b), obs=torch.tensor(0.3))


def test_trained_guides_survive_torch_save_and_load(tmp_path):
    from pyro.infer.autoguide import AutoDelta, AutoDiagonalNormal, AutoNormal

    guide_list = AutoGuideList(_saveable_model)
    guide_list.append(AutoDelta(poutine.block(_saveable_model, expose=["a"])))
    guide_list.append(AutoDiagonalNormal(poutine.block(_saveable_model, hide=["a"])))
    for guide in (AutoNormal(_saveable_model), guide_list):
        pyro.clear_param_store()
        svi = SVI(_saveable_model, guide, ClippedAdam({"lr": 0.05}), Trace_ELBO())
        for _ in range(20):
            svi.step()
        path = tmp_path / "guide.pt"
        torch.save(guide, path)
        loaded = torch.load(path, weights_only=False)
        before, after = guide.median(), loaded.median()
        assert sorted(after) == ["a", "b"]
        for name in before:
            assert torch.equal(before[name].detach(), after[name].detach())
