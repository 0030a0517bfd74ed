"""Fuzzing every load path with malformed but data-only files: ParamStore.load,
PyroOptim.load (fused Adam by default), a scheduler's load and pyro.checkpoint's
load_checkpoint, each followed by an optimizer step. Hypothesis writes the files (valid
saves with entries replaced by wrong tensors, wrong types, missing keys, or damaged
bytes); one subprocess loads them all and must end every case with a Python exception or
a clean step, never a crash or a hang."""
import copy
import json
import subprocess
import sys
import textwrap

import pytest
import torch
from torch.distributions import constraints

import pyro
import pyro.checkpoint
import pyro.optim

hypothesis = pytest.importorskip("hypothesis", reason="the fuzz test needs hypothesis")
st = pytest.importorskip("hypothesis.strategies")

DELETE = "<delete>"
N_EXAMPLES = 80


def live_params():
    pyro.param("a", torch.zeros(1000))
    pyro.param("b", torch.ones(3), constraint=constraints.positive)


def step_all(optim):
    ps = [p for _, p in pyro.get_param_store().named_parameters()]
    for p in ps:
        p.grad = torch.ones_like(p)
    optim(ps)
    for p in ps:
        p.grad = None


def base_payloads(tmp_path):
    """Valid payloads of every kind of file, to be damaged."""
    live_params()
    adam = pyro.optim.Adam({"lr": 0.1})
    sched = pyro.optim.ExponentialLR({"optimizer": torch.optim.Adam,
                                      "optim_args": {"lr": 0.1}, "gamma": 0.9})
    step_all(adam)
    step_all(sched)
    sched.step()
    pyro.checkpoint.save_checkpoint(str(tmp_path / "base.ckpt"), adam, step=1)
    ckpt = torch.load(str(tmp_path / "base.ckpt"), weights_only=True)
    return {
        "params": pyro.get_param_store().file_payload(),
        "optim": copy.deepcopy(adam.get_state()),
        "sched": copy.deepcopy(sched.get_state()),
        "ckpt": ckpt,
    }


def paths(obj, prefix=()):
    """Every position in a nested payload (dict keys and list indices)."""
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, prefix + (k,))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out += paths(v, prefix + (i,))
    return out


def replace(obj, path, value):
    if not path:
        return value
    obj = list(obj) if isinstance(obj, tuple) else obj
    key = path[0]
    if len(path) == 1 and value == DELETE and isinstance(obj, (dict, list)):
        del obj[key]
        return obj
    obj[key] = replace(obj[key], path[1:], value)
    return obj


def bad_tensors():
    dtypes = st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64,
                              torch.bool, torch.uint8, torch.complex64])
    return st.one_of(
        st.builds(lambda n: torch.zeros(1).expand(n), st.integers(2, 5000)),
        st.builds(lambda n: torch.as_strided(torch.arange(float(n)), (n - 1, 2), (1, 1)),
                  st.integers(3, 50)),
        st.builds(lambda shape, dt: torch.zeros(shape, dtype=dt),
                  st.lists(st.integers(0, 5), max_size=3), dtypes),
        st.builds(lambda n, dt: torch.zeros(n, dtype=dt), st.sampled_from([1, 3, 999, 1000]),
                  dtypes),
        st.sampled_from([torch.tensor(float("nan")), torch.tensor(float("inf")),
                         torch.tensor(-1.0), torch.tensor(1e38), torch.zeros(0),
                         torch.zeros(10, 100).t(), torch.zeros(5056, dtype=torch.uint8)]),
    )


def plain_data():
    leaves = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
              | st.floats(allow_nan=True) | st.text(max_size=4))
    return st.recursive(leaves, lambda ch: st.lists(ch, max_size=3)
                        | st.dictionaries(st.text(max_size=3) | st.integers(), ch, max_size=3),
                        max_leaves=6)


@st.composite
def cases(draw, payloads):
    kind = draw(st.sampled_from(sorted(payloads)))
    payload = copy.deepcopy(payloads[kind])
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(payload)))
        value = draw(bad_tensors() | plain_data() | st.just(DELETE))
        try:
            payload = replace(payload, where, value)
        except (KeyError, IndexError, TypeError):
            pass  # the position went away with an earlier replacement
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip"]))
    return kind, payload, damage, draw(st.floats(0.0, 1.0))


CHILD = textwrap.dedent("""
    import faulthandler, json, sys
    import torch
    import pyro, pyro.checkpoint, pyro.optim
    from torch.distributions import constraints

    faulthandler.enable()
    torch.set_num_threads(2)

    def live_params():
        pyro.param("a", torch.zeros(1000))
        pyro.param("b", torch.ones(3), constraint=constraints.positive)

    def step_all(optim):
        ps = [p for _, p in pyro.get_param_store().named_parameters()]
        for p in ps:
            p.grad = torch.ones_like(p)
        optim(ps)
        for p in ps:
            p.grad = None

    for i, (kind, path) in enumerate(json.load(open(sys.argv[1]))):
        pyro.clear_param_store()
        live_params()
        try:
            if kind == "params":
                pyro.get_param_store().load(path)
                optim = pyro.optim.Adam({"lr": 0.1})
            elif kind == "optim":
                optim = pyro.optim.Adam({"lr": 0.1})
                optim.load(path)
            elif kind == "sched":
                optim = pyro.optim.ExponentialLR({"optimizer": torch.optim.Adam,
                                                  "optim_args": {"lr": 0.1}, "gamma": 0.9})
                optim.load(path)
            else:
                optim = pyro.optim.Adam({"lr": 0.1})
                pyro.checkpoint.load_checkpoint(path, optim)
            step_all(optim)
            if kind == "sched":
                optim.step()
            print(i, kind, "ok", flush=True)
        except Exception as e:
            print(i, kind, type(e).__name__, flush=True)
""")


def test_malformed_files_never_crash_any_load_path(tmp_path):
    payloads = base_payloads(tmp_path)
    collected = []

    @hypothesis.settings(max_examples=N_EXAMPLES, derandomize=True, database=None,
                         deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(cases(payloads))
    def collect(case):
        collected.append(case)

    collect()
    # and, for certain, every tensor of every file replaced by one with zero strides and by
    # one of another size (the reported crashes), plus each file untouched
    for kind, payload in sorted(payloads.items()):
        collected.append((kind, payload, "none", 0.0))
        for where in paths(payload):
            value = payload
            for key in where:
                value = value[key]
            if isinstance(value, torch.Tensor) and value.numel() > 1:
                for bad in (torch.zeros(1, dtype=value.dtype).expand(value.shape),
                            torch.zeros(1, dtype=value.dtype)):
                    collected.append((kind, replace(copy.deepcopy(payload), where, bad),
                                      "none", 0.0))
    manifest = []
    for i, (kind, payload, damage, where) in enumerate(collected):
        path = tmp_path / f"case{i}.pt"
        torch.save(payload, str(path))
        data = path.read_bytes()
        cut = int(where * (len(data) - 1))
        if damage == "truncate":
            path.write_bytes(data[:cut])
        elif damage == "flip":
            path.write_bytes(data[:cut] + bytes([data[cut] ^ 0xFF]) + data[cut + 1:])
        manifest.append((kind, str(path)))
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "manifest.json")],
                          capture_output=True, text=True, timeout=300)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, (
        f"the loader process died (rc={proc.returncode}) after case {len(lines) - 1}: "
        f"{manifest[len(lines)][0] if len(lines) < len(manifest) else ''}\n{proc.stderr[-3000:]}")
    assert len(lines) == len(manifest)
    outcomes = [line.split()[2] for line in lines]
    # malformed files are refused with the documented errors (a damage that leaves valid
    # data, e.g. one float replaced by another, may load)
    allowed = {"ok", "ParamStoreError", "OptimStateError", "CheckpointError"}
    unexpected = [(manifest[i], o) for i, o in enumerate(outcomes) if o not in allowed]
    assert not unexpected, unexpected[:5]
    targeted = len(manifest) - N_EXAMPLES
    untouched = [i for i, c in enumerate(collected) if i >= N_EXAMPLES and
                 c[1] is payloads[c[0]]]
    assert len(untouched) == len(payloads) and all(outcomes[i] == "ok" for i in untouched)
    refused = [o for i, o in enumerate(outcomes) if i >= N_EXAMPLES and i not in untouched]
    assert len(refused) == targeted - len(payloads) and "ok" not in refused
    assert sum(o != "ok" for o in outcomes[:N_EXAMPLES]) > N_EXAMPLES // 2
