"""Exact resume: pyro.checkpoint saves and restores everything a run needs, and a run
resumed in a fresh process matches the uninterrupted one bit for bit (AutoNormal,
AutoDelta, a hand-written guide); autoguides consume no randomness when their
parameters already exist."""
import subprocess
import sys
import textwrap

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.autoguide import AutoDelta, AutoGuideList, AutoMultivariateNormal, AutoNormal
from pyro.infer.autoguide.initialization import init_to_median, init_to_sample

pytest.importorskip("pyro.optim", reason="training needs pyro-optim")

SCRIPT = textwrap.dedent('''
    import sys
    import torch
    import pyro, pyro.checkpoint, pyro.optim
    import pyro.distributions as dist
    from torch.distributions import constraints
    from pyro.infer import SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoDelta, AutoNormal
    from pyro.infer.autoguide.initialization import init_to_median

    torch.set_num_threads(1)
    DATA = torch.linspace(-1.0, 3.0, 10)
    STEPS, SPLIT = 12, 5

    def model(data):
        loc = pyro.sample("loc", dist.Normal(0.0, 3.0))
        scale = pyro.sample("scale", dist.LogNormal(0.0, 1.0))
        with pyro.plate("data", len(data), subsample_size=4) as idx:  # draws every step
            pyro.sample("obs", dist.Normal(loc, scale), obs=data[idx])

    def hand_guide(data):
        q_loc = pyro.param("q_loc", torch.tensor(0.0))
        q_scale = pyro.param("q_scale", torch.tensor(1.0), constraint=constraints.positive)
        pyro.sample("loc", dist.Normal(q_loc, q_scale))
        s_loc = pyro.param("s_loc", torch.tensor(0.0))
        pyro.sample("scale", dist.LogNormal(s_loc, 0.5))

    GUIDES = {
        "AutoNormal": lambda: AutoNormal(model, init_loc_fn=init_to_median),
        "AutoDelta": lambda: AutoDelta(model),
        "hand": lambda: hand_guide,
    }

    def make(kind):
        optim = pyro.optim.Adam({"lr": 0.05})
        return SVI(model, GUIDES[kind](), optim, Trace_ELBO()), optim

    def params():
        return {k: v.detach().clone() for k, v in pyro.get_param_store().named_parameters()}

    out = {}
    for kind in GUIDES:
        if sys.argv[1] == "train":
            pyro.clear_param_store()
            pyro.set_rng_seed(0)
            svi, optim = make(kind)
            losses = [svi.step(DATA) for _ in range(STEPS)]
            out[kind] = {"params": params(), "losses": losses}
            pyro.clear_param_store()
            pyro.set_rng_seed(0)
            svi, optim = make(kind)
            for _ in range(SPLIT):
                svi.step(DATA)
            pyro.checkpoint.save_checkpoint(sys.argv[2] + kind, optim, step=SPLIT)
        else:
            pyro.clear_param_store()
            pyro.set_rng_seed(12345)  # another state: the checkpoint must restore it
            svi, optim = make(kind)
            start = pyro.checkpoint.load_checkpoint(sys.argv[2] + kind, optim).step
            losses = [svi.step(DATA) for _ in range(start, STEPS)]
            out[kind] = {"params": params(), "losses": losses}
    torch.save(out, sys.argv[3])
''')


def test_resume_in_a_fresh_process_is_bit_identical(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    for mode in ("train", "resume"):
        proc = subprocess.run([sys.executable, str(script), mode, str(tmp_path / "ckpt-"),
                               str(tmp_path / f"{mode}.pt")], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
    full = torch.load(str(tmp_path / "train.pt"), weights_only=True)
    resumed = torch.load(str(tmp_path / "resume.pt"), weights_only=True)
    assert set(full) == set(resumed) == {"AutoNormal", "AutoDelta", "hand"}
    for kind in full:
        assert full[kind]["params"].keys() == resumed[kind]["params"].keys()
        for name, value in full[kind]["params"].items():
            assert torch.equal(resumed[kind]["params"][name], value), (kind, name)
        assert resumed[kind]["losses"] == full[kind]["losses"][5:], kind


def model():
    pyro.sample("a", dist.Normal(0.0, 1.0))
    pyro.sample("b", dist.Gamma(2.0, 1.0).expand([3]).to_event(1))


def guide_list():
    guide = AutoGuideList(model)
    guide.append(AutoDelta(poutine.block(model, expose=["a"]), init_loc_fn=init_to_sample))
    guide.append(AutoNormal(poutine.block(model, hide=["a"]), init_loc_fn=init_to_sample))
    return guide


@pytest.mark.parametrize("make_guide", [
    lambda: AutoNormal(model, init_loc_fn=init_to_sample),
    lambda: AutoDelta(model, init_loc_fn=init_to_median),
    lambda: AutoMultivariateNormal(model, init_loc_fn=init_to_sample),
    guide_list,
], ids=["AutoNormal", "AutoDelta", "AutoMultivariateNormal", "AutoGuideList"])
def test_autoguide_setup_consumes_no_randomness_when_its_params_exist(make_guide):
    make_guide()()  # creates the parameters
    state = torch.get_rng_state()
    guide = make_guide()
    guide._ensure_setup((), {})
    assert torch.equal(torch.get_rng_state(), state)
    # a guide whose parameters are new draws its initial values as before
    pyro.clear_param_store()
    guide = make_guide()
    guide._ensure_setup((), {})
    assert not torch.equal(torch.get_rng_state(), state)
