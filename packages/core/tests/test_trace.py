"""poutine.trace and the Trace structure (Pyro's ``poutine.trace`` and ``Trace``)."""
import math
from collections.abc import Mapping

import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine
from pyro.poutine.trace_struct import Trace
from pyro.poutine.util import prune_subsample_sites, site_is_factor, site_is_subsample
from pyro.primitive_distributions import ScoreParts

LOG2PI = math.log(2 * math.pi)


def normal_lp(x, loc, scale):
    # log N(x; loc, scale) = -log(2 pi)/2 - log(scale) - (x - loc)^2 / (2 scale^2)
    return -0.5 * LOG2PI - math.log(scale) - (x - loc) ** 2 / (2 * scale**2)


def model(x_obs):
    s = pyro.param("s", torch.tensor(2.0))
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    k = pyro.sample("k", dist.Bernoulli(0.25))
    pyro.sample("x", dist.Normal(a + k, s), obs=x_obs)
    return a + k


def test_nodes_input_return_and_mapping_api():
    obs = torch.tensor(0.5)
    tr = poutine.trace(model).get_trace(obs)
    assert isinstance(tr, Mapping) and tr.nodes is tr.nodes
    assert list(tr) == ["_INPUT", "s", "a", "k", "x", "_RETURN"] == list(tr.nodes)
    assert len(tr) == 6 and "a" in tr and "zzz" not in tr and tr["a"] is tr.nodes["a"]
    assert tr["_INPUT"]["type"] == "args" and tr["_INPUT"]["args"] == (obs,)
    assert tr["_INPUT"]["kwargs"] == {}
    ret = tr["_RETURN"]
    assert ret["type"] == "return"
    assert ret["value"].item() == tr["a"]["value"].item() + tr["k"]["value"].item()
    assert tr["s"]["type"] == "param" and tr["s"]["value"].item() == 2.0
    assert tr["x"]["is_observed"] and tr["x"]["value"] is obs
    assert repr(tr) == "Trace(['_INPUT', 's', 'a', 'k', 'x', '_RETURN'])"


def test_trace_as_context_manager_resets_on_each_entry():
    tracer = poutine.trace()
    with tracer:
        model(torch.tensor(0.0))
    first = tracer.trace
    assert "a" in first and "_INPUT" not in first  # no wrapped call, no input node
    with tracer:
        pyro.sample("only", dist.Normal(0.0, 1.0))
    assert list(tracer.trace) == ["only"] and "a" in first


def test_param_only_records_param_sites():
    tr = poutine.trace(model, param_only=True).get_trace(torch.tensor(0.0))
    assert [n for n in tr if n not in ("_INPUT", "_RETURN")] == ["s"]


def test_duplicate_sample_site_is_an_error_but_repeated_param_is_not():
    def dup():
        pyro.sample("z", dist.Normal(0.0, 1.0))
        pyro.sample("z", dist.Normal(0.0, 1.0))

    with pytest.raises(RuntimeError, match="Multiple sample sites named 'z'"):
        poutine.trace(dup).get_trace()

    def params_twice():
        pyro.param("p", torch.tensor(1.0))
        return pyro.param("p")

    tr = poutine.trace(params_twice).get_trace()
    assert tr["p"]["type"] == "param"


def test_log_prob_sum_exact_and_site_filter():
    pyro.set_rng_seed(0)
    tr = poutine.trace(model).get_trace(torch.tensor(0.5))
    a, k = tr["a"]["value"].item(), tr["k"]["value"].item()
    # log N(a; 0, 1) + log Bernoulli(k; 1/4) + log N(0.5; a + k, 2)
    lp_k = math.log(0.25) if k == 1.0 else math.log(0.75)
    expected = normal_lp(a, 0, 1) + lp_k + normal_lp(0.5, a + k, 2.0)
    assert abs(tr.log_prob_sum().item() - expected) < 1e-5
    only_a = tr.log_prob_sum(site_filter=lambda name, site: name == "a")
    assert abs(only_a.item() - normal_lp(a, 0, 1)) < 1e-6
    # an empty trace sums to a zero tensor
    empty = Trace().log_prob_sum()
    assert isinstance(empty, torch.Tensor) and empty.item() == 0.0


def test_compute_log_prob_with_scale_and_mask():
    data = torch.tensor([1.0, 2.0])

    def m():
        # subsample of 2 out of 4: scale 4 / 2 = 2; the second element is masked out
        with pyro.plate("data", 4, subsample=torch.tensor([0, 2])):
            with poutine.mask(mask=torch.tensor([True, False])):
                with poutine.scale(scale=1.5):
                    pyro.sample("x", dist.Normal(0.0, 1.0), obs=data)

    tr = poutine.trace(m).get_trace()
    tr.compute_log_prob()
    site = tr["x"]
    assert site["scale"] == pytest.approx(3.0)  # 2 (subsampling) * 1.5 (poutine.scale)
    unscaled = torch.tensor([normal_lp(1.0, 0, 1), normal_lp(2.0, 0, 1)])
    assert torch.allclose(site["unscaled_log_prob"], unscaled)
    assert torch.allclose(site["log_prob"], torch.tensor([3.0 * normal_lp(1.0, 0, 1), 0.0]))
    assert site["log_prob_sum"].item() == pytest.approx(3.0 * normal_lp(1.0, 0, 1), abs=1e-5)
    assert tr.log_prob_sum().item() == pytest.approx(3.0 * normal_lp(1.0, 0, 1), abs=1e-5)
    # the subsample site of the plate has no log density term
    assert "log_prob" not in tr["data"] and site_is_subsample(tr["data"])


def test_compute_log_prob_site_filter_and_cache():
    tr = poutine.trace(model).get_trace(torch.tensor(0.5))
    tr.compute_log_prob(site_filter=lambda name, site: name == "x")
    assert "log_prob" in tr["x"] and "log_prob" not in tr["a"]
    cached = tr["x"]["log_prob"]
    tr.compute_log_prob()
    assert tr["x"]["log_prob"] is cached and "log_prob" in tr["a"]


def test_compute_score_parts_reparam_and_score_function_terms():
    def m():
        with pyro.plate("p", 6, subsample=torch.tensor([1, 4])):  # scale 6 / 2 = 3
            with poutine.mask(mask=torch.tensor([True, False])):
                pyro.sample("z", dist.Normal(0.0, 1.0))
                pyro.sample("k", dist.Bernoulli(0.2))

    tr = poutine.trace(m).get_trace()
    tr.compute_score_parts()
    z, k = tr["z"], tr["k"]
    z_lp = dist.Normal(0.0, 1.0).log_prob(z["value"])
    k_lp = dist.Bernoulli(0.2).log_prob(k["value"])
    keep = torch.tensor([1.0, 0.0])
    assert isinstance(z["score_parts"], ScoreParts)
    # reparameterized: log_prob and entropy_term scaled and masked, no score function
    assert torch.allclose(z["score_parts"].log_prob, 3 * z_lp * keep)
    assert torch.allclose(z["score_parts"].entropy_term, 3 * z_lp * keep)
    assert z["score_parts"].score_function == 0
    # not reparameterized: the score function term is the (masked, unscaled) log density
    assert torch.allclose(k["score_parts"].log_prob, 3 * k_lp * keep)
    assert torch.allclose(k["score_parts"].score_function, k_lp * keep)
    assert k["score_parts"].entropy_term == 0
    assert torch.allclose(k["unscaled_log_prob"], k_lp)
    assert k["log_prob_sum"].item() == pytest.approx(3 * k_lp[0].item(), abs=1e-6)


def test_node_properties_exclude_subsample_sites():
    def m():
        p = pyro.param("p", torch.tensor(0.4))
        with pyro.plate("data", 10, subsample_size=3):
            z = pyro.sample("z", dist.Normal(0.0, 1.0))
            pyro.sample("k", dist.Bernoulli(p.expand(3)))
            pyro.sample("x", dist.Normal(z, 1.0), obs=torch.zeros(3))
        pyro.deterministic("d", z * 2)
        pyro.factor("f", torch.tensor(-1.0))

    tr = poutine.trace(m).get_trace()
    assert tr.param_nodes == ["p"]
    assert tr.stochastic_nodes == ["z", "k"]  # the plate's subsample site is left out
    assert tr.reparameterized_nodes == ["z"]
    assert tr.nonreparam_stochastic_nodes == ["k"]
    assert tr.observation_nodes == ["x", "d", "f"]
    assert [name for name, _ in tr.iter_stochastic_nodes()] == ["z", "k"]
    assert site_is_factor(tr["f"]) and not site_is_factor(tr["x"])
    pruned = prune_subsample_sites(tr)
    assert "data" in tr and "data" not in pruned and list(pruned.stochastic_nodes) == ["z", "k"]


def test_format_shapes_lists_batch_and_event_shapes():
    def m():
        pyro.param("w", torch.ones(3, 2))
        with pyro.plate("p", 3):
            pyro.sample("x", dist.Normal(0.0, 1.0))
            pyro.sample("y", dist.Independent(dist.Normal(torch.zeros(3, 2), 1.0), 1))

    tr = poutine.trace(m).get_trace()
    lines = [line.split() for line in tr.format_shapes().splitlines()]
    assert lines[0] == ["Trace", "Shapes:"]
    assert ["w", "3", "2"] in lines
    assert ["x", "dist", "3", "|"] in lines and ["y", "dist", "3", "|", "2"] in lines
    assert ["value", "3", "|", "2"] in lines
    assert ["log_prob", "3", "|"] not in lines
    tr.compute_log_prob()
    assert ["log_prob", "3", "|"] in [line.split() for line in tr.format_shapes().splitlines()]


def test_copy_is_shallow_and_independent():
    tr = poutine.trace(model).get_trace(torch.tensor(0.5))
    new = tr.copy()
    assert isinstance(new, Trace) and list(new) == list(tr)
    assert new["a"] is not tr["a"] and new["a"]["value"] is tr["a"]["value"]
    new.add_node("extra", type="sample", name="extra", value=None)
    new["a"]["value"] = torch.tensor(100.0)
    assert "extra" not in tr and tr["a"]["value"].item() != 100.0
    new.remove_node("extra")
    assert "extra" not in new


def test_detach_in_place():
    loc = torch.tensor(0.3, requires_grad=True)

    def m():
        pyro.sample("z", dist.Normal(loc, 1.0))

    tr = poutine.trace(m).get_trace()
    assert tr["z"]["value"].requires_grad
    assert tr.detach_() is tr
    assert not tr["z"]["value"].requires_grad


def test_log_prob_error_names_the_site():
    def m():
        pyro.sample("p", dist.Beta(2.0, 2.0), obs=torch.tensor(1.5))  # outside (0, 1)

    tr = poutine.trace(m).get_trace()
    with pytest.raises(ValueError, match="site 'p'.*Beta"):
        tr.log_prob_sum()


def test_graph_type_is_checked():
    tr = poutine.trace(model, graph_type="dense").get_trace(torch.tensor(0.0))
    assert tr.graph_type == "dense"
    with pytest.raises(ValueError, match="graph_type"):
        Trace("tree")
