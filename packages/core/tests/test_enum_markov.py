"""poutine.enum (parallel enumeration) and pyro.markov (dim recycling)."""
import itertools
import math

import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine

PAR = {"enumerate": "parallel"}


def enum_trace(fn, first_available_dim, *args):
    return poutine.trace(poutine.enum(fn, first_available_dim=first_available_dim)).get_trace(*args)


def enum_dims(tr):
    return {n: s["infer"]["_enumerate_dim"] for n, s in tr.nodes.items()
            if s["type"] == "sample" and "_enumerate_dim" in s["infer"]}


# ---------------------------------------------------------------- enum


def test_single_site_is_its_support_at_first_available_dim():
    tr = enum_trace(lambda: pyro.sample("z", dist.Bernoulli(0.3), infer=PAR), -1)
    z = tr["z"]
    assert z["value"].tolist() == [0.0, 1.0] and z["infer"]["_enumerate_dim"] == -1
    tr.compute_log_prob()
    assert torch.allclose(z["log_prob"], torch.tensor([math.log(0.7), math.log(0.3)]))
    # left of one plate dim: the support lies along dim -2
    tr = enum_trace(lambda: pyro.sample("c", dist.Categorical(torch.ones(4) / 4), infer=PAR), -2)
    assert tr["c"]["value"].shape == (4, 1) and tr["c"]["value"].flatten().tolist() == [0, 1, 2, 3]


def test_enumeration_inside_a_plate():
    def m():
        with pyro.plate("data", 3):
            z = pyro.sample("z", dist.Bernoulli(torch.tensor([0.1, 0.5, 0.9])), infer=PAR)
            pyro.sample("x", dist.Normal(z, 1.0), obs=torch.zeros(3))

    tr = enum_trace(m, -2)
    tr.compute_log_prob()
    assert tr["z"]["value"].shape == (2, 1)
    assert tr["z"]["log_prob"].shape == (2, 3) and tr["x"]["log_prob"].shape == (2, 3)
    # p(z = 1) per element on row 1, p(z = 0) on row 0
    expected = torch.tensor([[0.9, 0.5, 0.1], [0.1, 0.5, 0.9]]).log()
    assert torch.allclose(tr["z"]["log_prob"], expected)
    # summing z out: p(x_i = 0) = sum_z p(z) N(0; z, 1)
    joint = (tr["z"]["log_prob"] + tr["x"]["log_prob"]).logsumexp(0)
    n0, n1 = math.exp(-0.5 * math.log(2 * math.pi)), math.exp(-0.5 * math.log(2 * math.pi) - 0.5)
    marg = [math.log((1 - p) * n0 + p * n1) for p in (0.1, 0.5, 0.9)]
    assert torch.allclose(joint, torch.tensor(marg))


def test_independent_and_dependent_sites_get_new_dims():
    def m():
        a = pyro.sample("a", dist.Bernoulli(0.5), infer=PAR)
        b = pyro.sample("b", dist.Categorical(torch.ones(3) / 3), infer=PAR)
        probs = torch.tensor([[0.2, 0.8], [0.7, 0.3]])
        c = pyro.sample("c", dist.Categorical(probs[a.long()]), infer=PAR)
        return a, b, c

    tr = enum_trace(m, -1)
    assert enum_dims(tr) == {"a": -1, "b": -2, "c": -3}
    assert tr["b"]["value"].shape == (3, 1) and tr["c"]["value"].shape == (2, 1, 1)
    assert tr["c"]["infer"]["_dim_to_id"] == {-1: 0, -2: 1, -3: 2}
    # the enumerated values carry on into the program: c's probs depend on a along dim -1
    assert tr["c"]["fn"].batch_shape == (2,)


def test_expand_and_sites_left_alone():
    def m():
        with pyro.plate("data", 3):
            z = pyro.sample("z", dist.Bernoulli(0.5), infer={"enumerate": "parallel",
                                                              "expand": True})
            y = pyro.sample("y", dist.Bernoulli(0.5))  # not marked
            o = pyro.sample("o", dist.Bernoulli(0.5), obs=torch.ones(3), infer=PAR)
        return z, y, o

    tr = enum_trace(m, -2)
    assert tr["z"]["value"].shape == (2, 3)
    assert torch.equal(tr["z"]["value"], torch.tensor([[0.0] * 3, [1.0] * 3]))
    assert tr["y"]["value"].shape == (3,) and "_enumerate_dim" not in tr["y"]["infer"]
    assert tr["o"]["value"].tolist() == [1.0, 1.0, 1.0]


def test_enum_resets_between_runs():
    def m():
        pyro.sample("a", dist.Bernoulli(0.5), infer=PAR)
        pyro.sample("b", dist.Bernoulli(0.5), infer=PAR)

    enumerated = poutine.trace(poutine.enum(m, first_available_dim=-1))
    first, second = enum_dims(enumerated.get_trace()), enum_dims(enumerated.get_trace())
    assert first == second == {"a": -1, "b": -2}


def test_enum_errors():
    marked = lambda: pyro.sample("z", dist.Bernoulli(0.5), infer=PAR)  # noqa: E731
    with pytest.raises(ValueError, match="'z'.*first_available_dim"):
        poutine.trace(poutine.enum(marked)).get_trace()
    continuous = lambda: pyro.sample("x", dist.Normal(0.0, 1.0), infer=PAR)  # noqa: E731
    with pytest.raises(ValueError, match="'x'.*Normal has no finite support"):
        enum_trace(continuous, -1)
    with pytest.raises(ValueError, match="negative int"):
        poutine.enum(marked, first_available_dim=0)


# ---------------------------------------------------------------- markov

K, T = 2, 10
INIT = torch.tensor([0.6, 0.4])
TRANS = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
LOCS = torch.tensor([-1.0, 1.0])
DATA = torch.linspace(-1.5, 1.5, T)


def hmm(history=1, keep=False):
    z = None
    for t in pyro.markov(range(T), history=history, keep=keep):
        probs = INIT if z is None else TRANS[z]
        z = pyro.sample(f"z_{t}", dist.Categorical(probs), infer=PAR)
        pyro.sample(f"x_{t}", dist.Normal(LOCS[z], 1.0), obs=DATA[t])


def brute_force_log_marginal():
    # log sum over all K^T paths of p(z_0) prod_t p(z_t | z_t-1) prod_t N(x_t; loc_{z_t}, 1)
    def lp_x(t, k):
        return -0.5 * math.log(2 * math.pi) - 0.5 * (DATA[t].item() - LOCS[k].item()) ** 2

    total = 0.0
    for path in itertools.product(range(K), repeat=T):
        lp = math.log(INIT[path[0]].item()) + lp_x(0, path[0])
        for t in range(1, T):
            lp += math.log(TRANS[path[t - 1], path[t]].item()) + lp_x(t, path[t])
        total += math.exp(lp)
    return math.log(total)


def test_markov_chain_of_ten_sites_needs_two_dims_and_sums_out_exactly():
    tr = enum_trace(hmm, -1)
    dims = enum_dims(tr)
    assert set(dims.values()) == {-1, -2}
    assert [dims[f"z_{t}"] for t in range(T)] == [-1, -2] * (T // 2)
    tr.compute_log_prob()
    # forward algorithm over the trace's own log-prob tensors: the two dims alternate
    alpha = (tr["z_0"]["log_prob"] + tr["x_0"]["log_prob"]).exp().reshape(K)
    for t in range(1, T):
        trans = tr[f"z_{t}"]["log_prob"]
        assert trans.shape == (K, K)
        # rows are z_{t-1} when it lies on dim -2, else z_t
        trans = trans if dims[f"z_{t - 1}"] == -2 else trans.T
        assert torch.allclose(trans.exp(), TRANS)
        emit = tr[f"x_{t}"]["log_prob"].exp().reshape(K)
        alpha = (alpha @ trans.exp()) * emit
    assert alpha.sum().log().item() == pytest.approx(brute_force_log_marginal(), abs=1e-5)


def test_markov_history_and_keep_control_recycling():
    assert set(enum_dims(enum_trace(lambda: hmm(history=2), -1)).values()) == {-1, -2, -3}
    # keep=True: every step stays visible, so no dim is ever reused
    dims = enum_dims(enum_trace(lambda: hmm(keep=True), -1))
    assert sorted(dims.values()) == list(range(-T, 0))


def test_markov_as_a_reentered_context_recycles_like_the_iterator():
    def m():
        step = pyro.markov()
        z = None
        for t in range(6):
            with step:
                probs = INIT if z is None else TRANS[z]
                z = pyro.sample(f"z_{t}", dist.Categorical(probs), infer=PAR)

    assert [d for _, d in sorted(enum_dims(enum_trace(m, -1)).items())] == [-1, -2] * 3


def test_markov_decorating_a_recursive_function_recycles():
    @pyro.markov
    def step(t, z):
        probs = INIT if z is None else TRANS[z]
        z = pyro.sample(f"z_{t}", dist.Categorical(probs), infer=PAR)
        if t < 7:
            step(t + 1, z)

    dims = enum_dims(enum_trace(step, -1, 0, None))
    assert [dims[f"z_{t}"] for t in range(8)] == [-1, -2] * 4


def test_markov_scopes():
    with poutine.trace() as tr:
        for t in pyro.markov(range(4)):
            pyro.sample(f"y{t}", dist.Bernoulli(0.5))
        pyro.sample("outside", dist.Bernoulli(0.5))
    scopes = {n: s["infer"].get("_markov_scope") for n, s in tr.trace.nodes.items()}
    assert scopes == {"y0": {"y0"}, "y1": {"y0", "y1"}, "y2": {"y1", "y2"}, "y3": {"y2", "y3"},
                      "outside": None}
    with poutine.trace() as tr:
        for t in pyro.markov(range(4), history=2):
            pyro.sample(f"y{t}", dist.Bernoulli(0.5))
    assert tr.trace["y3"]["infer"]["_markov_scope"] == {"y1", "y2", "y3"}
    # nested contexts: the inner step sees the outer one
    with poutine.trace() as tr:
        with pyro.markov():
            pyro.sample("a", dist.Bernoulli(0.5))
            with pyro.markov():
                pyro.sample("b", dist.Bernoulli(0.5))
    assert tr.trace["b"]["infer"]["_markov_scope"] == {"a", "b"}
    # observed sites are not steps of the chain
    with poutine.trace() as tr:
        for t in pyro.markov(range(2)):
            pyro.sample(f"o{t}", dist.Bernoulli(0.5), obs=torch.tensor(1.0))
    assert "_markov_scope" not in tr.trace["o1"]["infer"]


def test_markov_as_a_wrapper_and_errors():
    def step(t):
        return pyro.sample(f"s{t}", dist.Bernoulli(0.5))

    tr = poutine.trace(pyro.markov(step)).get_trace(3)
    assert tr["s3"]["infer"]["_markov_scope"] == {"s3"}
    with pytest.raises(ValueError, match="history"):
        pyro.markov(history=-1)


def test_monte_carlo_enumeration_is_refused_with_a_clear_error():
    def model():
        pyro.sample("z", dist.Bernoulli(0.5), infer={"enumerate": "parallel", "num_samples": 10})

    with pytest.raises(ValueError, match="'z'.*Monte Carlo enumeration.*not supported"):
        poutine.enum(model, first_available_dim=-1)()
