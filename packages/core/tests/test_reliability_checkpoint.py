"""pyro.checkpoint: one file with params, optimizer state, RNG states and step count;
restored all or nothing, every entry checked."""
import random

import numpy as np
import pytest
import torch
from torch.distributions import constraints

import pyro
from pyro.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from pyro.params import ParamStoreError


class FakeOptim:
    """Anything with get_state / set_state can be checkpointed (core needs no pyro-optim)."""

    def __init__(self, fail=False):
        self.state, self.fail = {"w": {"moment": torch.arange(3.0)}}, fail

    def get_state(self):
        return self.state

    def set_state(self, state):
        if self.fail:
            raise ValueError("does not fit")
        self.state = state


def draws():
    return torch.rand(3), random.random(), float(np.random.rand())


def test_round_trip_restores_params_optimizer_rng_and_step(tmp_path):
    pyro.param("w", torch.tensor([1.0, 2.0]), constraint=constraints.positive)
    save_checkpoint(tmp_path / "run.ckpt", FakeOptim(), step=7, extra={"best": torch.tensor(0.5)})
    expected = draws()
    pyro.clear_param_store()
    pyro.set_rng_seed(99)
    optim = FakeOptim()
    optim.state = None
    ckpt = load_checkpoint(tmp_path / "run.ckpt", optim)
    assert ckpt.step == 7 and torch.equal(ckpt.extra["best"], torch.tensor(0.5))
    assert torch.allclose(pyro.param("w"), torch.tensor([1.0, 2.0]))
    assert pyro.get_param_store().get_constraint("w") is constraints.positive
    assert torch.equal(optim.state["w"]["moment"], torch.arange(3.0))
    got = draws()
    assert torch.equal(got[0], expected[0]) and got[1:] == expected[1:]


def test_failing_optimizer_restore_leaves_everything_as_it_was(tmp_path):
    pyro.param("w", torch.ones(2))
    save_checkpoint(tmp_path / "run.ckpt", FakeOptim(), step=1)
    pyro.get_param_store()["w"] = torch.full((2,), 3.0)
    rng = torch.get_rng_state()
    with pytest.raises(ValueError, match="does not fit"):
        load_checkpoint(tmp_path / "run.ckpt", FakeOptim(fail=True))
    assert torch.equal(pyro.param("w"), torch.full((2,), 3.0))
    assert torch.equal(torch.get_rng_state(), rng)


def corrupt(tmp_path, edit):
    pyro.param("w", torch.ones(2))
    save_checkpoint(tmp_path / "run.ckpt", step=1)
    payload = torch.load(tmp_path / "run.ckpt", weights_only=True)
    edit(payload)
    torch.save(payload, tmp_path / "bad.ckpt")
    return tmp_path / "bad.ckpt"


@pytest.mark.parametrize("edit, match", [
    (lambda p: p["rng"].update(torch=torch.zeros(1, dtype=torch.uint8).expand(5056)),
     "rng 'torch'.*repeats or overlaps"),
    (lambda p: p["rng"].update(torch=torch.zeros(10, dtype=torch.uint8)), "rng 'torch'.*shape"),
    (lambda p: p["rng"]["numpy"].update(pos=10**6), "rng 'numpy'"),
    (lambda p: p["rng"]["python"].update(state=torch.full((625,), -1)), "rng 'python'"),
    (lambda p: p.update(step=-1), "step count"),
    (lambda p: p.update(format="other"), "not a Pyro checkpoint"),
    (lambda p: p["param_store"]["params"].update(w=torch.zeros(1).expand(2)), "'w'.*overlaps"),
    (lambda p: p["param_store"]["params"].update(w=torch.zeros(5)), r"'w'.*shape \(5,\)"),
])
def test_malformed_checkpoint_is_refused_and_changes_nothing(tmp_path, edit, match):
    path = corrupt(tmp_path, edit)
    pyro.get_param_store()["w"] = torch.full((2,), 3.0)
    rng = torch.get_rng_state()
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path)
    assert isinstance(info.value, ParamStoreError) and "bad.ckpt" in str(info.value)
    assert torch.equal(pyro.param("w"), torch.full((2,), 3.0))
    assert torch.equal(torch.get_rng_state(), rng)


def test_checkpoint_without_optimizer_state(tmp_path):
    save_checkpoint(tmp_path / "run.ckpt", step=2)
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(tmp_path / "run.ckpt", FakeOptim())
    assert load_checkpoint(tmp_path / "run.ckpt").step == 2
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        load_checkpoint(tmp_path / "nope.ckpt")
    with pytest.raises(TypeError, match="step"):
        save_checkpoint(tmp_path / "run.ckpt", step=1.5)
