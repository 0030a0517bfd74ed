"""Data-parallel SVI on 2 CPU processes (gloo on 127.0.0.1): the ranks agree, a 2-rank
step equals a 1-rank step on the same global batch, the fit equals a single-process fit,
and a checkpoint written by 2 ranks resumes on 1."""
import os
import socket
import subprocess
import sys
import types

import pytest
import torch

pytest.importorskip("pyro.infer.autoguide", reason="the SVI example needs pyro-autoguide")
if not torch.distributed.is_available():  # pragma: no cover
    pytest.skip("torch without torch.distributed", allow_module_level=True)

import pyro  # noqa: E402
from pyro.optim import Adam, DistributedOptim, HorovodOptimizer  # noqa: E402
from pyro.optim.distributed import plate_shard, shard_indices  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(pyro.__file__), "examples", "distributed_svi.py")
ARGS = ["--size", "1200", "--dim", "4", "--batch-size", "240", "--lr", "0.05",
        "--num-steps", "100"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(world: int, extra: list, report: str) -> list:
    return finish(start(world, extra, report))


def start(world: int, extra: list, report: str) -> tuple:
    port = str(free_port())
    procs = []
    for rank in range(world):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=port, OMP_NUM_THREADS="1")
        if world > 1:
            env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
        else:
            for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
                env.pop(key, None)
        procs.append(subprocess.Popen(
            [sys.executable, EXAMPLE, *ARGS, *extra, "--report", report],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return procs, report


def finish(started: tuple) -> list:
    procs, report = started
    world = len(procs)
    try:
        outs = [p.communicate(timeout=180)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
    return [torch.load(f"{report}.rank{r}.pt", weights_only=False) for r in range(world)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    ckpt = str(tmp / "run.ckpt")
    # rank 0 saves a checkpoint at step 60 (and no other)
    two = start(2, ["--grad-report", "--checkpoint", ckpt, "--checkpoint-every", "60"],
                str(tmp / "two"))
    one = finish(start(1, ["--grad-report"], str(tmp / "one")))
    two = finish(two)
    # resume the 2-rank run's step-60 checkpoint on 1 rank, up to step 100
    resumed = launch(1, ["--checkpoint", ckpt, "--checkpoint-every", "1000", "--resume"],
                     str(tmp / "resumed"))
    return {"two": two, "one": one, "resumed": resumed[0]}


def test_ranks_hold_identical_parameters(runs):
    a, b = runs["two"]
    assert a["params"].keys() == b["params"].keys()
    for name in a["params"]:
        assert torch.equal(a["params"][name], b["params"][name]), name


def test_two_rank_gradient_equals_one_rank_gradient(runs):
    one = runs["one"][0]["grads"]
    for report in runs["two"]:
        assert report["grads"].keys() == one.keys()
        for name, g in one.items():
            assert torch.allclose(report["grads"][name], g, rtol=1e-4, atol=1e-3), name


def test_fit_matches_single_process_fit(runs):
    one, two = runs["one"][0]["params"], runs["two"][0]["params"]
    for name in one:
        assert torch.allclose(two[name], one[name], atol=2e-3), (name, two[name], one[name])


def test_checkpoint_of_two_ranks_resumes_on_one(runs):
    resumed, uninterrupted = runs["resumed"]["params"], runs["two"][0]["params"]
    for name in uninterrupted:
        assert torch.allclose(resumed[name], uninterrupted[name], atol=2e-3), name


def test_shard_indices_partition_the_global_batch():
    torch.manual_seed(3)
    shards = []
    for rank in range(3):
        torch.manual_seed(3)  # every rank seeded alike draws the same batch
        shards.append(shard_indices(100, 30, rank=rank, world_size=3))
    torch.manual_seed(3)
    whole = shard_indices(100, 30, rank=0, world_size=1)
    assert torch.equal(torch.cat(shards), whole)
    assert [len(s) for s in shards] == [10, 10, 10]
    assert torch.equal(shard_indices(7, rank=1, world_size=2), torch.tensor([4, 5, 6]))
    with pytest.raises(ValueError, match="subsample_size=0"):
        shard_indices(10, 0)
    with pytest.raises(ValueError, match="cannot be split over 4 ranks"):
        shard_indices(10, 3, rank=0, world_size=4)


def test_plate_shard_scales_by_size_over_local_batch():
    def model():
        with plate_shard("data", 100, 20, rank=1, world_size=2):
            pyro.sample("x", pyro.distributions.Normal(0.0, 1.0))

    tr = pyro.poutine.trace(model).get_trace()
    assert tr.nodes["x"]["scale"] == pytest.approx(100 / 10)
    assert tr.nodes["x"]["value"].shape == (10,)


def test_distributed_optim_on_one_process_is_the_wrapped_optimizer():
    pyro.clear_param_store()
    p1 = torch.tensor([1.0, 2.0], requires_grad=True)
    p2 = p1.detach().clone().requires_grad_()
    for p, optim in ((p1, DistributedOptim(Adam({"lr": 0.1}))), (p2, Adam({"lr": 0.1}))):
        (p ** 2).sum().backward()
        optim([p])
    assert torch.equal(p1, p2)
    with pytest.raises(TypeError, match="DistributedOptim wraps"):
        DistributedOptim(3)


def test_horovod_optimizer_names_horovod_when_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, "horovod", None)
    monkeypatch.setitem(sys.modules, "horovod.torch", None)
    with pytest.raises(ImportError, match="horovod"):
        HorovodOptimizer(Adam({"lr": 0.1}))


def test_horovod_optimizer_wraps_each_torch_optimizer(monkeypatch):
    wrapped = []

    def DistributedOptimizer(optimizer, named_parameters=None, **kwargs):
        wrapped.append(([n for n, _ in named_parameters], kwargs))
        return optimizer

    hvd = types.SimpleNamespace(DistributedOptimizer=DistributedOptimizer)
    monkeypatch.setitem(sys.modules, "horovod", types.ModuleType("horovod"))
    monkeypatch.setitem(sys.modules, "horovod.torch", hvd)
    pyro.clear_param_store()
    x = pyro.param("x", torch.tensor(3.0))
    optim = HorovodOptimizer(Adam({"lr": 0.5}), backward_passes_per_step=1)
    unconstrained = pyro.get_param_store().get_unconstrained("x")
    (x ** 2).backward()
    optim([unconstrained])
    assert wrapped == [(["x"], {"backward_passes_per_step": 1})]
    assert pyro.param("x").item() == pytest.approx(2.5)
