"""Grouped mode: one torch optimizer per setting gives exactly per-parameter mode's numbers."""
import math

import pytest
import torch

import pyro
import pyro.optim
from pyro.optim import PyroOptim, is_groupable
from pyro.optim.clipped_adam import ClippedAdam as TorchClippedAdam
from pyro.optim.grouping import TORCH_GROUPABLE, freeze

SHAPES = {"a": (3,), "b": (2, 2), "c": (4,), "d": (), "e": (2, 3)}
MATRIX_SHAPES = {"a": (3, 2), "b": (2, 2), "c": (4, 3), "d": (1, 2), "e": (2, 3)}
APPEAR = {"a": 0, "b": 0, "c": 2, "d": 3, "e": 5}  # dynamic model: parameters come late
ABSENT = {("b", 4), ("a", 6)}  # ... and skip steps
NO_GRAD = {("c", 3), ("e", 6)}  # ... or are present without a gradient
STEPS = 8
# on CUDA torch's optimizers default to their multi-tensor (foreach) kernels: check them too
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def scenario(optim, shapes=SHAPES, sparse=False, between_steps=None, device="cpu"):
    """Run a dynamic model's parameter schedule; return final values and the state."""
    pyro.clear_param_store()
    gen = torch.Generator().manual_seed(0)
    init = {n: torch.randn(s, generator=gen).to(device) for n, s in shapes.items()}
    for t in range(STEPS):
        params = []
        for n in shapes:
            if t < APPEAR[n] or (n, t) in ABSENT:
                continue
            p = pyro.param(n, init[n].clone()).unconstrained()
            if (n, t) in NO_GRAD:
                p.grad = None
            else:
                # a gradient that depends on the current value, so trajectories matter
                g = torch.sin(3 * p.detach() + t) * (1 + t) + 0.1 * len(n)
                p.grad = g.to_sparse() if sparse else g
            params.append(p)
        optim(params[::-1] if t % 2 else set(params))
        for p in params:
            p.grad = None
        if between_steps is not None:
            between_steps(optim, t)
    values = {n: pyro.param(n).detach().cpu() for n in shapes}
    return values, optim.get_state()


def assert_same_state(s1, s2):
    assert set(s1) == set(s2)
    for name in s1:
        a, b = s1[name], s2[name]
        assert a["param_groups"] == b["param_groups"], name
        assert set(a["state"]) == set(b["state"]), name
        for i in a["state"]:
            assert set(a["state"][i]) == set(b["state"][i])
            for k, v in a["state"][i].items():
                w = b["state"][i][k]
                same = torch.equal(v, w) if torch.is_tensor(v) else v == w
                assert same, (name, k)


def n_optimizers(optim):
    return len({id(o) for o in optim.optim_objs.values()})


DEFAULT_ARGS = {
    "SGD": {"lr": 0.01, "momentum": 0.9, "nesterov": True},
    "Adam": {"lr": 0.01, "amsgrad": True},
    "AdamW": {"lr": 0.01},
    "Adadelta": {"lr": 0.5},
    "Adagrad": {"lr": 0.1, "initial_accumulator_value": 0.5},  # state made by the constructor
    "ASGD": {"lr": 0.01, "t0": 2},
    "Rprop": {"lr": 0.01},
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(c.__name__ for c in TORCH_GROUPABLE))
def test_grouped_equals_per_parameter_for_every_groupable_torch_optimizer(name, device):
    ctor = getattr(torch.optim, name)
    args = DEFAULT_ARGS.get(name, {"lr": 0.01})
    shapes = MATRIX_SHAPES if name == "Muon" else SHAPES
    sparse = name == "SparseAdam"
    per_param = PyroOptim(ctor, args, grouped=False)
    values1, state1 = scenario(per_param, shapes, sparse, device=device)
    grouped = PyroOptim(ctor, args)  # dict args: grouped by default
    values2, state2 = scenario(grouped, shapes, sparse, device=device)
    for n in shapes:
        assert torch.equal(values1[n], values2[n]), n
        assert not torch.equal(values1[n], scenario_init(shapes)[n]), n  # they did move
    assert_same_state(state1, state2)
    assert n_optimizers(per_param) == len(shapes)
    assert n_optimizers(grouped) == 1


def scenario_init(shapes):
    gen = torch.Generator().manual_seed(0)
    return {n: torch.randn(s, generator=gen) for n, s in shapes.items()}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "clip_args", [None, {"clip_norm": 1.5}, {"clip_norm": 0.5, "norm_type": 1.0},
                  {"clip_value": 0.7}]
)
def test_grouped_equals_per_parameter_with_clipping(clip_args, device):
    values1, state1 = scenario(pyro.optim.Adam({"lr": 0.1}, clip_args, grouped=False),
                               device=device)
    values2, state2 = scenario(pyro.optim.Adam({"lr": 0.1}, clip_args), device=device)
    for n in SHAPES:
        assert torch.equal(values1[n], values2[n]), n
    assert_same_state(state1, state2)


def test_callable_args_grouped_by_distinct_settings():
    def per_param(module_name, param_name):
        return {"lr": 0.1 if param_name in ("a", "c") else 0.02, "betas": (0.8, 0.99)}

    per_param_mode = pyro.optim.Adam(per_param)  # callable: per-parameter by default
    values1, state1 = scenario(per_param_mode)
    grouped = pyro.optim.Adam(per_param, grouped=True)
    values2, state2 = scenario(grouped)
    for n in SHAPES:
        assert torch.equal(values1[n], values2[n]), n
    assert_same_state(state1, state2)
    assert n_optimizers(per_param_mode) == 5
    assert n_optimizers(grouped) == 2


@pytest.mark.parametrize("device", DEVICES)
def test_clipped_adam_groups_only_without_lr_decay(device):
    for lrd, expected in [(1.0, 1), (0.9, len(SHAPES))]:
        args = {"lr": 0.05, "clip_norm": 0.8, "lrd": lrd}
        values1, state1 = scenario(pyro.optim.ClippedAdam(args, grouped=False), device=device)
        grouped = pyro.optim.ClippedAdam(args)
        values2, state2 = scenario(grouped, device=device)
        for n in SHAPES:
            assert torch.equal(values1[n], values2[n]), (lrd, n)
        assert_same_state(state1, state2)
        assert n_optimizers(grouped) == expected
    # with decay the per-parameter learning rates differ: each decays when its parameter steps
    lrs = {n: e["param_groups"][0]["lr"] for n, e in state2.items()}
    # a steps at t = 0..7 except 6 (absent); e at t = 5 and 7 (no gradient at 6)
    assert lrs["a"] == pytest.approx(0.05 * 0.9**7) and lrs["e"] == pytest.approx(0.05 * 0.9**2)


def test_lbfgs_and_unknown_optimizers_are_never_grouped():
    assert not is_groupable(torch.optim.LBFGS, {})
    with pytest.warns(UserWarning, match="cannot be grouped"):
        PyroOptim(torch.optim.LBFGS, {"lr": 1.0}, grouped=True)

    class MyAdam(torch.optim.Adam):  # may change step: unknown, so per parameter
        pass

    assert not is_groupable(MyAdam, {})
    optim = PyroOptim(MyAdam, {"lr": 0.1})
    scenario(optim)
    assert n_optimizers(optim) == len(SHAPES)

    class DeclaredAdam(torch.optim.Adam):
        pyro_groupable = True

    optim = PyroOptim(DeclaredAdam, {"lr": 0.1})
    scenario(optim)
    assert n_optimizers(optim) == 1


def test_is_groupable_reads_settings_for_clipped_adam():
    assert is_groupable(TorchClippedAdam, {"lr": 1.0})
    assert is_groupable(TorchClippedAdam, {"lrd": 1.0})
    assert not is_groupable(TorchClippedAdam, {"lrd": 0.99})


def test_freeze_keys_settings_by_value():
    assert freeze({"lr": 0.1, "betas": (0.9, 0.99)}) == freeze({"betas": [0.9, 0.99], "lr": 0.1})
    assert freeze({"lr": torch.tensor(0.1)}) == freeze({"lr": torch.tensor(0.1)})
    assert freeze({"lr": torch.tensor(0.1)}) != freeze({"lr": torch.tensor(0.2)})
    assert freeze({"x": math.nan}) == freeze({"x": math.nan})
    hash(freeze({"f": [1, {"g": object()}]}))


def test_grouped_state_moves_between_modes():
    # state written in grouped mode continues identically in per-parameter mode and back
    ref_values, _ = scenario(pyro.optim.Adam({"lr": 0.1}, grouped=False))
    for first, second in [(True, False), (False, True)]:
        holder = {}

        class Switching:
            """Runs `first` mode for steps 0..3, then a fresh optimizer of `second` mode
            that received the state of the first."""

            def __init__(self):
                self.optim = pyro.optim.Adam({"lr": 0.1}, grouped=first)
                self.t = 0

            def __call__(self, params):
                self.optim(params)
                if self.t == 3:
                    state = self.optim.get_state()
                    self.optim = pyro.optim.Adam({"lr": 0.1}, grouped=second)
                    self.optim.set_state(state)
                    holder["switched"] = True
                self.t += 1

            def get_state(self):
                return self.optim.get_state()

        values, _ = scenario(Switching())
        assert holder["switched"]
        for n in SHAPES:
            assert torch.equal(values[n], ref_values[n]), (first, second, n)
