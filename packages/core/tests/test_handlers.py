"""The effect handlers of pyro.poutine on small models, against hand-written densities.

Plate, enum and markov have their own files (test_plate.py, test_enum_markov.py)."""
import math
import queue
import random

import numpy as np
import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine
from pyro.poutine.trace_struct import Trace
from pyro.poutine.util import all_escape, discrete_escape, enum_extend, mc_extend

LOG2PI = math.log(2 * math.pi)


def normal_lp(x, loc, scale):
    # log N(x; loc, scale) = -log(2 pi)/2 - log(scale) - (x - loc)^2 / (2 scale^2)
    return -0.5 * LOG2PI - math.log(scale) - (x - loc) ** 2 / (2 * scale**2)


def model():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.Normal(a, 2.0))
    pyro.sample("c", dist.Normal(b, 0.5), obs=torch.tensor(1.0))
    return a, b


def model_lp(a, b):
    # log N(a;0,1) + log N(b;a,2) + log N(1;b,0.5)
    return normal_lp(a, 0, 1) + normal_lp(b, a, 2) + normal_lp(1.0, b, 0.5)


def guide():
    pyro.sample("a", dist.Normal(0.3, 0.5), infer={"tag": "g"})
    pyro.sample("b", dist.Normal(-0.2, 1.5))


def sites(tr, types=("sample", "param")):
    return [n for n, s in tr.nodes.items() if s["type"] in types]


# ---------------------------------------------------------------- replay


def test_replay_trace_values_and_infer():
    guide_tr = poutine.trace(guide).get_trace()
    tr = poutine.trace(poutine.replay(model, trace=guide_tr)).get_trace()
    a, b = guide_tr["a"]["value"], guide_tr["b"]["value"]
    assert tr["a"]["value"] is a and tr["b"]["value"] is b
    assert tr["a"]["infer"] == {"tag": "g"}
    assert tr["c"]["value"].item() == 1.0  # observed sites keep their data
    assert abs(tr.log_prob_sum().item() - model_lp(a.item(), b.item())) < 1e-5


def test_replay_partial_trace_samples_the_rest():
    partial = poutine.trace(lambda: pyro.sample("a", dist.Normal(5.0, 1e-3))).get_trace()
    tr = poutine.trace(poutine.replay(model, trace=partial)).get_trace()
    assert tr["a"]["value"] is partial["a"]["value"]
    # b was drawn from N(a, 2) with a near 5
    assert tr["b"]["fn"].loc.item() == pytest.approx(5.0, abs=1e-2)


def test_replay_params():
    def m():
        return pyro.param("w", torch.tensor(1.0)) * 2

    fixed = torch.tensor(4.0)
    assert poutine.replay(m, params={"w": fixed})() == 8.0
    assert poutine.replay(m, params={"w": {"value": fixed}})() == 8.0
    assert "w" not in pyro.get_param_store()  # the store is never touched
    assert m() == 2.0


def test_replay_errors():
    with pytest.raises(ValueError, match="trace="):
        poutine.replay(model)
    observed = poutine.trace(
        lambda: pyro.sample("a", dist.Normal(0.0, 1.0), obs=torch.tensor(0.0))).get_trace()
    with pytest.raises(RuntimeError, match="'a'"):
        poutine.replay(model, trace=observed)()


# ---------------------------------------------------------------- block


def block_model():
    pyro.param("s", torch.tensor(1.0))
    model()


@pytest.mark.parametrize(
    "kwargs, visible",
    [
        ({}, []),
        ({"hide_all": False}, ["s", "a", "b", "c"]),
        ({"hide_all": False, "expose_all": True}, ["s", "a", "b", "c"]),
        ({"hide": ["a"]}, ["s", "b", "c"]),
        ({"expose": ["a", "s"]}, ["s", "a"]),
        ({"hide_types": ["param"]}, ["a", "b", "c"]),
        ({"expose_types": ["param"]}, ["s"]),
        ({"hide_fn": lambda msg: msg["name"] in ("b", "c")}, ["s", "a"]),
        ({"expose_fn": lambda msg: msg["name"] in ("b", "c")}, ["b", "c"]),
    ],
)
def test_block_variants(kwargs, visible):
    tr = poutine.trace(poutine.block(block_model, **kwargs)).get_trace()
    assert sites(tr) == visible


def test_block_hides_from_outer_but_not_inner_handlers():
    with poutine.trace() as outer:
        with poutine.block(hide=["a"]):
            with poutine.trace() as inner:
                model()
    assert sites(inner.trace) == ["a", "b", "c"]
    assert sites(outer.trace) == ["b", "c"]


def test_block_contradictions_are_errors():
    with pytest.raises(ValueError, match="hide_fn or expose_fn"):
        poutine.block(hide_fn=lambda m: True, expose_fn=lambda m: True)
    with pytest.raises(ValueError, match="both hidden and exposed"):
        poutine.block(hide=["a"], expose=["a"])
    with pytest.raises(ValueError, match="both hidden and exposed"):
        poutine.block(hide_types=["param"], expose_types=["param"])
    with pytest.raises(ValueError, match="hide_all and expose_all"):
        poutine.block(hide_all=True, expose_all=True)


# ---------------------------------------------------------------- condition / do


def test_condition_with_tensors_floats_and_a_trace():
    for data in ({"a": torch.tensor(0.3)}, {"a": 0.3}):
        tr = poutine.trace(poutine.condition(model, data=data)).get_trace()
        assert tr["a"]["is_observed"] and tr["a"]["value"] is data["a"]  # kept, as in Pyro
        assert tr["b"]["fn"].loc.item() == pytest.approx(0.3)
        b = tr["b"]["value"].item()
        with pyro.validation_enabled(False):  # torch's validation wants tensor values
            assert abs(tr.log_prob_sum().item() - model_lp(0.3, b)) < 1e-5
    guide_tr = poutine.trace(guide).get_trace()
    tr = poutine.trace(poutine.condition(model, data=guide_tr)).get_trace()
    a, b = guide_tr["a"]["value"].item(), guide_tr["b"]["value"].item()
    assert tr.observation_nodes == ["a", "b", "c"] and tr.stochastic_nodes == []
    assert abs(tr.log_prob_sum().item() - model_lp(a, b)) < 1e-5
    # a None entry leaves the site alone
    tr = poutine.trace(poutine.condition(model, data={"a": None})).get_trace()
    assert not tr["a"]["is_observed"]


def test_condition_errors():
    with pytest.raises(ValueError, match="data="):
        poutine.condition(model)
    with pytest.raises(TypeError, match="dict or a Trace"):
        poutine.condition(model, data=[("a", 1.0)])


def chain():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.Normal(a, 1.0))
    c = pyro.sample("c", dist.Normal(b, 1.0))
    return a, b, c


def test_do_keeps_upstream_and_changes_downstream():
    pyro.set_rng_seed(3)
    plain = poutine.trace(chain).get_trace()
    pyro.set_rng_seed(3)
    tr = poutine.trace(poutine.do(chain, data={"b": 10.0})).get_trace()
    assert tr["a"]["value"].item() == plain["a"]["value"].item()
    # the original b is still a latent site with its prior N(a, 1) ...
    assert not tr["b"]["is_observed"] and tr["b"]["fn"].loc.item() == tr["a"]["value"].item()
    # ... but the program (and c) received the intervened value
    assert tr["c"]["fn"].loc.item() == 10.0
    assert tr["_RETURN"]["value"][1].item() == 10.0
    assert "b__CF" not in tr


def test_do_does_not_apply_inner_handlers_twice():
    def m():
        with pyro.plate("p", 3):
            b = pyro.sample("b", dist.Normal(0.0, 1.0))
            pyro.sample("c", dist.Normal(b, 1.0))

    intervened = poutine.do(poutine.scale(m, scale=2.0), data={"b": torch.zeros(3)})
    tr = poutine.trace(intervened).get_trace()
    assert tr["b"]["scale"] == 2.0 and tr["c"]["scale"] == 2.0
    assert [f.name for f in tr["b"]["cond_indep_stack"]] == ["p"]
    assert tr["b"]["value"].shape == (3,) and torch.equal(tr["c"]["fn"].loc, torch.zeros(3))


def test_do_errors():
    with pytest.raises(ValueError, match="data="):
        poutine.do(chain)
    with pytest.raises(TypeError, match="site 'b'"):
        poutine.do(chain, data={"b": "ten"})()


# ---------------------------------------------------------------- scale / mask


def test_scale_nests_multiplicatively_and_accepts_tensors():
    fixed = poutine.condition(model, data={"a": torch.tensor(0.1), "b": torch.tensor(0.7)})
    base = model_lp(0.1, 0.7)
    tr = poutine.trace(poutine.scale(poutine.scale(fixed, scale=2.0), scale=0.25)).get_trace()
    assert all(tr[n]["scale"] == 0.5 for n in ("a", "b", "c"))
    assert abs(tr.log_prob_sum().item() - 0.5 * base) < 1e-5

    def vec():
        with pyro.plate("p", 2):
            pyro.sample("x", dist.Normal(0.0, 1.0), obs=torch.tensor([0.0, 1.0]))

    tr = poutine.trace(poutine.scale(vec, scale=torch.tensor([1.0, 3.0]))).get_trace()
    # 1 * log N(0;0,1) + 3 * log N(1;0,1)
    expected = normal_lp(0.0, 0, 1) + 3 * normal_lp(1.0, 0, 1)
    assert abs(tr.log_prob_sum().item() - expected) < 1e-5


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_scale_must_be_positive(bad):
    with pytest.raises(ValueError, match="positive"):
        poutine.scale(model, scale=bad)
    with pytest.raises(ValueError, match="positive"):
        poutine.scale(model, scale=torch.tensor([1.0, bad]))
    with pytest.raises(TypeError, match="number or tensor"):
        poutine.scale(model, scale="2")


def test_mask_bool_tensor_and_nesting():
    data = torch.tensor([0.5, -1.0, 2.0])

    def m():
        with pyro.plate("data", 3):
            pyro.sample("x", dist.Normal(0.0, 1.0), obs=data)

    lps = [normal_lp(v, 0, 1) for v in data.tolist()]
    tr = poutine.trace(poutine.mask(m, mask=True)).get_trace()
    assert abs(tr.log_prob_sum().item() - sum(lps)) < 1e-5
    tr = poutine.trace(poutine.mask(m, mask=False)).get_trace()
    assert tr.log_prob_sum().item() == 0.0
    outer = torch.tensor([True, True, False])
    inner = torch.tensor([False, True, True])
    tr = poutine.trace(poutine.mask(poutine.mask(m, mask=inner), mask=outer)).get_trace()
    assert torch.equal(tr["x"]["mask"], torch.tensor([False, True, False]))
    assert abs(tr.log_prob_sum().item() - lps[1]) < 1e-6  # only the middle term survives
    tr = poutine.trace(poutine.mask(poutine.mask(m, mask=inner), mask=False)).get_trace()
    assert tr["x"]["mask"] is False


def test_mask_type_errors():
    with pytest.raises(TypeError, match="bool tensor"):
        poutine.mask(model, mask=torch.tensor([1, 0]))
    with pytest.raises(TypeError, match="bool or bool tensor"):
        poutine.mask(model, mask=1)
    with pytest.raises(ValueError, match="mask="):
        poutine.mask(model)


# ---------------------------------------------------------------- lift


def lift_model():
    loc = pyro.param("loc", torch.tensor(0.0))
    pyro.sample("x", dist.Normal(loc, 1.0), obs=torch.tensor(2.0))
    return loc


@pytest.mark.parametrize("as_dict", [True, False])
def test_lift_turns_params_into_samples(as_dict):
    prior = dist.Normal(1.0, 2.0)
    lifted = poutine.lift(lift_model, prior={"loc": prior} if as_dict else prior)
    tr = poutine.trace(lifted).get_trace()
    site = tr["loc"]
    assert site["type"] == "sample" and not site["is_observed"] and site["fn"] is prior
    v = site["value"].item()
    assert tr["_RETURN"]["value"].item() == v
    # log N(v; 1, 2) + log N(2; v, 1)
    assert abs(tr.log_prob_sum().item() - (normal_lp(v, 1, 2) + normal_lp(2.0, v, 1))) < 1e-5
    assert "loc" not in pyro.get_param_store()


def test_lift_shapes_and_unnamed_params():
    def m():
        w = pyro.param("w", torch.zeros(3, 2))
        s = pyro.param("s", torch.ones(4))
        return w, s

    tr = poutine.trace(poutine.lift(m, prior={"w": dist.Normal(0.0, 1.0)})).get_trace()
    w = tr["w"]
    # a scalar prior is expanded to the param's shape, as one event: one log density
    assert w["type"] == "sample" and w["value"].shape == (3, 2)
    assert w["fn"].batch_shape == () and w["fn"].event_shape == (3, 2)
    expected = dist.Normal(0.0, 1.0).log_prob(w["value"]).sum()
    assert torch.allclose(tr.log_prob_sum(), expected)
    assert tr["s"]["type"] == "param"  # not named in the prior: stays a param


def test_lift_param_read_twice_is_one_variable():
    def m():
        first = pyro.param("loc", torch.zeros(2))
        second = pyro.param("loc")
        return first, second

    tr = poutine.trace(poutine.lift(m, prior=dist.Normal(0.0, 1.0))).get_trace()
    first, second = tr["_RETURN"]["value"]
    assert torch.equal(first, second) and first.shape == (2,)
    assert sites(tr) == ["loc"]


def test_lift_finds_module_params_by_their_own_name():
    net = torch.nn.Linear(2, 1)
    with poutine.trace() as tracer:
        with poutine.lift(prior={"weight": dist.Normal(0.0, 1.0)}):
            pyro.module("net", net)
    assert tracer.trace["net$$$weight"]["type"] == "sample"
    assert tracer.trace["net$$$weight"]["value"].shape == (1, 2)
    assert tracer.trace["net$$$bias"]["type"] == "param"


def test_lift_with_a_stochastic_function_prior():
    def prior(name):
        return pyro.sample(name + "_raw", dist.Normal(0.0, 1.0)).exp()

    tr = poutine.trace(poutine.lift(lift_model, prior={"loc": prior})).get_trace()
    raw = tr["loc_raw"]["value"]
    assert "loc" not in tr and tr["_RETURN"]["value"].item() == pytest.approx(raw.exp().item())


def test_lift_errors():
    with pytest.raises(ValueError, match="prior="):
        poutine.lift(lift_model)
    with pytest.raises(TypeError, match="prior must be"):
        poutine.lift(lift_model, prior=3.0)


# ---------------------------------------------------------------- seed / substitute


def test_seed_is_reproducible_and_restores_every_global_rng():
    def draw():
        return (pyro.sample("x", dist.Normal(0.0, 1.0)).item(), random.random(),
                float(np.random.rand()))

    seeded = poutine.seed(draw, rng_seed=11)
    torch_state, py_state = torch.get_rng_state(), random.getstate()
    np_state = np.random.get_state()
    first = seeded()
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert random.getstate() == py_state
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()
    torch.rand(3)
    random.random()
    assert seeded() == first
    pyro.set_rng_seed(11)
    assert draw() == first  # poutine.seed(rng_seed=n) draws what set_rng_seed(n) would
    assert poutine.seed(draw, rng_seed=12)() != first
    with pytest.raises(TypeError, match="rng_seed"):
        poutine.seed(draw, rng_seed=None)


def test_substitute_data_and_substitute_fn():
    def m():
        loc = pyro.param("loc", torch.tensor(0.0))
        scale = pyro.param("scale", torch.tensor(1.0))
        pyro.sample("x", dist.Normal(loc, scale), obs=torch.tensor(2.0))

    tr = poutine.trace(poutine.substitute(m, data={"loc": torch.tensor(3.0)})).get_trace()
    assert tr["loc"]["value"].item() == 3.0 and tr["scale"]["value"].item() == 1.0
    assert abs(tr.log_prob_sum().item() - normal_lp(2.0, 3.0, 1.0)) < 1e-6
    sub = poutine.substitute(m, substitute_fn=lambda msg: torch.tensor(0.5)
                             if msg["name"] == "scale" else None)
    tr = poutine.trace(sub).get_trace()
    assert tr["scale"]["value"].item() == 0.5
    assert abs(tr.log_prob_sum().item() - normal_lp(2.0, 0.0, 0.5)) < 1e-6
    # sample sites are untouched by substitute
    tr = poutine.trace(poutine.substitute(model, data={"a": torch.tensor(9.0)})).get_trace()
    assert tr["a"]["value"].item() != 9.0
    with pytest.raises(ValueError, match="data= or substitute_fn="):
        poutine.substitute(m)


# ---------------------------------------------------------------- infer_config


def test_infer_config_updates_sample_and_param_sites():
    def m():
        pyro.param("p", torch.tensor(1.0))
        pyro.sample("z", dist.Bernoulli(0.5), infer={"keep": True})
        pyro.sample("y", dist.Normal(0.0, 1.0))

    cfg = poutine.infer_config(m, config_fn=lambda msg: {"flag": msg["name"]}
                               if msg["name"] != "y" else {})
    tr = poutine.trace(cfg).get_trace()
    assert tr["z"]["infer"] == {"keep": True, "flag": "z"}
    assert tr["p"]["infer"] == {"flag": "p"}
    assert tr["y"]["infer"] == {}
    with pytest.raises(ValueError, match="config_fn"):
        poutine.infer_config(m)


# ---------------------------------------------------------------- escape / queue


def test_escape_raises_nonlocal_exit_at_the_site():
    escaping = poutine.escape(model, escape_fn=lambda msg: msg["name"] == "b")
    with pytest.raises(poutine.NonlocalExit) as info:
        with poutine.trace() as tr:
            escaping()
    assert info.value.site["name"] == "b" and isinstance(info.value.site["fn"], dist.Normal)
    assert sites(tr.trace) == ["a"]
    with pytest.raises(ValueError, match="escape_fn"):
        poutine.escape(model)


def test_nonlocal_exit_reset_stack_forgets_the_aborted_sites():
    tracer = poutine.trace()
    with tracer:
        pyro.sample("before", dist.Normal(0.0, 1.0))
        try:
            poutine.escape(model, escape_fn=lambda msg: msg["name"] == "b")()
        except poutine.NonlocalExit as e:
            assert sites(tracer.trace) == ["before", "a"]
            e.reset_stack()
        assert sites(tracer.trace) == ["before"]
        model()  # runs again under the same trace without a duplicate-site error
    assert sites(tracer.trace) == ["before", "a", "b", "c"]


def two_coins():
    a = pyro.sample("a", dist.Bernoulli(0.3))
    b = pyro.sample("b", dist.Bernoulli(0.6))
    return a, b


def test_queue_enumerates_every_path_with_exact_probabilities():
    q = queue.Queue()
    q.put(Trace())
    searcher = poutine.trace(poutine.queue(two_coins, queue=q))
    found = {}
    while not q.empty():
        tr = searcher.get_trace()
        assert sites(tr) == ["a", "b"]
        key = (int(tr["a"]["value"]), int(tr["b"]["value"]))
        assert key not in found
        found[key] = tr.log_prob_sum().exp().item()
    # p(a, b) = 0.3^a 0.7^(1-a) 0.6^b 0.4^(1-b)
    expected = {(0, 0): 0.7 * 0.4, (0, 1): 0.7 * 0.6, (1, 0): 0.3 * 0.4, (1, 1): 0.3 * 0.6}
    assert found.keys() == expected.keys()
    for key, p in expected.items():
        assert found[key] == pytest.approx(p, abs=1e-6)
    assert sum(found.values()) == pytest.approx(1.0, abs=1e-6)


def test_queue_with_monte_carlo_extensions_of_every_latent_site():
    q = queue.Queue()
    q.put(Trace())
    searcher = poutine.trace(poutine.queue(model, queue=q, escape_fn=all_escape,
                                           extend_fn=mc_extend, num_samples=2))
    completed = []
    while not q.empty():
        completed.append(searcher.get_trace())
    # two draws of a, each extended by two draws of b: four complete executions
    assert len(completed) == 4
    assert len({tr["a"]["value"].item() for tr in completed}) == 2
    assert len({tr["b"]["value"].item() for tr in completed}) == 4


def test_util_extend_and_escape_predicates():
    msg = {"type": "sample", "name": "k", "fn": dist.Categorical(torch.ones(3) / 3),
           "args": (), "kwargs": {}, "is_observed": False, "infer": {}, "value": None}
    assert discrete_escape(Trace(), msg) and all_escape(Trace(), msg)
    extended = enum_extend(Trace(), msg)
    assert [tr["k"]["value"].item() for tr in extended] == [0, 1, 2]
    assert len(enum_extend(Trace(), msg, num_samples=2)) == 2
    assert discrete_escape(extended[0], msg) is False  # already in the trace
    continuous = dict(msg, fn=dist.Normal(0.0, 1.0), name="x")
    assert not discrete_escape(Trace(), continuous) and all_escape(Trace(), continuous)
    assert len(mc_extend(Trace(), continuous, num_samples=3)) == 3
    assert not all_escape(Trace(), dict(continuous, is_observed=True))


def test_queue_errors():
    with pytest.raises(ValueError, match="queue="):
        poutine.queue(two_coins)
    with pytest.raises(ValueError, match="empty"):
        poutine.queue(two_coins, queue=queue.Queue())()
    q = queue.Queue()
    q.put(Trace())
    with pytest.raises(ValueError, match="max_tries"):
        # breadth-first: escapes at a, at b (a=0), at b (a=1); the 4th try completes
        poutine.queue(two_coins, queue=q, max_tries=3)()


# ---------------------------------------------------------------- broadcast / uncondition


def test_broadcast_expands_to_indep_messenger_sizes():
    with poutine.trace() as tr:
        with poutine.broadcast():
            with poutine.IndepMessenger("rows", 3, dim=-2):
                with poutine.IndepMessenger("cols", 4):
                    x = pyro.sample("x", dist.Normal(0.0, 1.0))
    assert x.shape == (3, 4) and tr.trace["x"]["fn"].batch_shape == (3, 4)
    with poutine.IndepMessenger("cols", 4):
        y = pyro.sample("y", dist.Normal(0.0, 1.0))
    assert y.shape == ()  # a bare IndepMessenger only records the frame


def test_uncondition_samples_observed_sites():
    obs = torch.tensor(1.0)

    def m():
        return pyro.sample("x", dist.Normal(0.0, 1e-3), obs=obs)

    tr = poutine.trace(poutine.uncondition(m)).get_trace()
    site = tr["x"]
    assert not site["is_observed"] and site["infer"]["was_observed"]
    assert site["infer"]["obs"] is obs
    assert abs(site["value"].item()) < 0.01  # drawn from N(0, 0.001), not the data
    assert tr.stochastic_nodes == ["x"]


def _blockable_model():
    pyro.sample("a", dist.Normal(0.0, 1.0))
    pyro.sample("b", dist.Normal(0.0, 1.0))


@pytest.mark.parametrize(
    "kwargs", [{"hide": ["a"]}, {"expose": ["a"]}, {"hide_types": ["sample"]}, {}]
)
def test_blocked_models_can_be_pickled(kwargs):
    import pickle

    def visible(model):
        return sorted(poutine.trace(model).get_trace().stochastic_nodes)

    blocked = poutine.block(_blockable_model, **kwargs)
    assert visible(pickle.loads(pickle.dumps(blocked))) == visible(blocked)
