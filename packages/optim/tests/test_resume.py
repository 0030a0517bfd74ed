"""Resuming SVI from a checkpoint (ParamStore file + optimizer file + RNG state) gives
bit-identical parameters to an uninterrupted run: by hand with core alone, and with
pyro.infer.SVI when pyro-infer is installed."""
import pytest
import torch
from torch.distributions import Normal, constraints

import pyro
import pyro.optim
from pyro import poutine

DATA = torch.tensor([0.3, 1.7, 2.2, -0.4, 1.1])
STEPS, SPLIT = 9, 4


NET = {}


def new_process(seed):
    """What a fresh process does before training: build its network."""
    torch.manual_seed(seed)
    NET["net"] = torch.nn.Linear(1, 1)


def model(data):
    loc = pyro.param("loc", torch.tensor(0.0))
    net = pyro.module("net", NET["net"])
    z = pyro.sample("z", Normal(loc, 1.0))
    with pyro.plate("data", len(data)):
        mean = z + net(data[:, None]).squeeze(-1)
        pyro.sample("obs", Normal(mean, 1.0), obs=data)


def guide(data):
    q_loc = pyro.param("q_loc", torch.tensor(0.0))
    q_scale = pyro.param("q_scale", torch.tensor(1.0), constraint=constraints.positive)
    pyro.sample("z", Normal(q_loc, q_scale))


def hand_svi_step(optim, data):
    """One SVI step by hand: Trace ELBO with one reparameterized sample."""
    with poutine.trace(param_only=True) as param_capture:
        guide_tr = poutine.trace(guide).get_trace(data)
        model_tr = poutine.trace(poutine.replay(model, trace=guide_tr)).get_trace(data)
        loss = guide_tr.log_prob_sum() - model_tr.log_prob_sum()
    loss.backward()
    params = {site["value"].unconstrained() for site in param_capture.trace.nodes.values()}
    optim(params)
    for p in params:
        p.grad = None
    return loss.item()


def make_optims():
    return {
        "adam-grouped": lambda: pyro.optim.Adam({"lr": 0.05}),
        "adam-per-param": lambda: pyro.optim.Adam(
            lambda m, p: {"lr": 0.1 if m == "net" else 0.05}
        ),
        "clipped-adam-decay": lambda: pyro.optim.ClippedAdam(
            {"lr": 0.05, "clip_norm": 1.0, "lrd": 0.97}
        ),
        "sgd-momentum": lambda: pyro.optim.SGD({"lr": 0.01, "momentum": 0.9}),
        "exponential-lr": lambda: pyro.optim.ExponentialLR(
            {"optimizer": torch.optim.Adam, "optim_args": {"lr": 0.05}, "gamma": 0.8}
        ),
    }


def run(step_fn, optim, start, stop):
    for t in range(start, stop):
        step_fn(optim, t)
        if isinstance(optim, pyro.optim.PyroLRScheduler) and t % 3 == 2:
            optim.step()


def final_params():
    return {k: v.detach().clone() for k, v in pyro.get_param_store().named_parameters()}


def check_resume(step_fn, make_optim, tmp_path):
    # uninterrupted
    pyro.clear_param_store()
    new_process(123)
    pyro.set_rng_seed(0)
    run(step_fn, make_optim(), 0, STEPS)
    expected = final_params()

    # interrupted at SPLIT: checkpoint to files
    pyro.clear_param_store()
    new_process(123)
    pyro.set_rng_seed(0)
    optim = make_optim()
    run(step_fn, optim, 0, SPLIT)
    pyro.get_param_store().save(str(tmp_path / "params.pt"))
    optim.save(str(tmp_path / "optim.pt"))
    torch.save(torch.get_rng_state(), str(tmp_path / "rng.pt"))
    del optim

    # a "new process": empty store, new optimizer object, everything from the files
    pyro.clear_param_store()
    new_process(999)
    pyro.get_param_store().load(str(tmp_path / "params.pt"))
    pyro.module("net", NET["net"], update_module_params=True)  # the network takes the weights
    optim = make_optim()
    optim.load(str(tmp_path / "optim.pt"))
    torch.set_rng_state(torch.load(str(tmp_path / "rng.pt"), weights_only=True))
    run(step_fn, optim, SPLIT, STEPS)
    got = final_params()

    assert set(got) == set(expected) == {"loc", "net$$$weight", "net$$$bias", "q_loc", "q_scale"}
    for k in expected:
        assert torch.equal(got[k], expected[k]), k
    return expected


@pytest.mark.parametrize("kind", sorted(make_optims()))
def test_resume_by_hand_is_bit_identical(kind, tmp_path):
    expected = check_resume(lambda o, t: hand_svi_step(o, DATA), make_optims()[kind], tmp_path)
    # and the checkpoint mattered: a fresh optimizer on the restored parameters differs
    pyro.clear_param_store()
    new_process(123)
    pyro.set_rng_seed(0)
    optim = make_optims()[kind]()
    run(lambda o, t: hand_svi_step(o, DATA), optim, 0, SPLIT)
    fresh = make_optims()[kind]()
    run(lambda o, t: hand_svi_step(o, DATA), fresh, SPLIT, STEPS)
    differs = any(not torch.equal(v, expected[k]) for k, v in final_params().items())
    assert differs


@pytest.mark.parametrize("kind", ["adam-grouped", "exponential-lr"])
def test_resume_with_svi_is_bit_identical(kind, tmp_path):
    infer = pytest.importorskip("pyro.infer")
    if not hasattr(infer, "SVI"):
        pytest.skip("pyro-infer is not installed (pyro.infer has no SVI)")
    svis = {}

    def svi_step(optim, t):
        svi = svis.get(id(optim))
        if svi is None:
            svi = svis[id(optim)] = infer.SVI(model, guide, optim, loss=infer.Trace_ELBO())
        svi.step(DATA)

    check_resume(svi_step, make_optims()[kind], tmp_path)
