"""pyro.plate: vectorized and iterated, nested, dims, subsampling and its scaling, reuse,
plate_stack, block_plate, pyro.subsample and params with event_dim."""
import math

import numpy as np
import pytest
import torch
import torch.distributions as dist
from torch.distributions import constraints

import pyro
from pyro import poutine
from pyro.poutine.indep_messenger import CondIndepStackFrame
from pyro.poutine.subsample_messenger import _Subsample

LOG2PI = math.log(2 * math.pi)
DATA = torch.linspace(-1.0, 1.0, 20)


def std_normal_lp(x):
    # log N(x; 0, 1), elementwise
    return -0.5 * LOG2PI - 0.5 * x**2


def test_vectorized_plate_frame_indices_and_shapes():
    with poutine.trace() as tr:
        with pyro.plate("data", 5) as ind:
            x = pyro.sample("x", dist.Normal(0.0, 1.0))
            p = pyro.param("p", torch.tensor(1.0))
    assert ind.tolist() == [0, 1, 2, 3, 4] and ind.dtype == torch.long
    assert x.shape == (5,) and tr.trace["x"]["fn"].batch_shape == (5,)
    assert tr.trace["x"]["cond_indep_stack"] == (CondIndepStackFrame("data", -1, 5, 0, 5),)
    assert tr.trace["p"]["cond_indep_stack"][0].name == "data" and p.shape == ()
    assert tr.trace["x"]["scale"] == 1.0
    assert abs(tr.trace.log_prob_sum().item() - std_normal_lp(x).sum().item()) < 1e-5


def test_iterated_plate_frames_counters_and_indices():
    with poutine.trace() as tr:
        seen = []
        for i in pyro.plate("loop", 3):
            seen.append(i)
            pyro.sample(f"x_{i}", dist.Normal(0.0, 1.0))
    assert seen == [0, 1, 2] and all(isinstance(i, int) for i in seen)
    for i in range(3):
        (frame,) = tr.trace[f"x_{i}"]["cond_indep_stack"]
        assert frame == CondIndepStackFrame("loop", None, 3, i, 3) and not frame.vectorized
        assert tr.trace[f"x_{i}"]["value"].shape == ()


def test_nested_plates_automatic_and_explicit_dims():
    with poutine.trace() as tr:
        with pyro.plate("outer", 2):
            with pyro.plate("inner", 3):
                x = pyro.sample("x", dist.Normal(0.0, 1.0))
        with pyro.plate("a", 4, dim=-2):
            with pyro.plate("b", 5):  # automatic: the first free dim, -1
                y = pyro.sample("y", dist.Normal(0.0, 1.0))
        with pyro.plate("c", 2, dim=-3):
            z = pyro.sample("z", dist.Normal(0.0, 1.0))
    assert x.shape == (3, 2) and y.shape == (4, 5) and z.shape == (2, 1, 1)
    dims = {f.name: f.dim for f in tr.trace["x"]["cond_indep_stack"]}
    assert dims == {"outer": -1, "inner": -2}
    # the stack lists the outermost plate first
    assert [f.name for f in tr.trace["y"]["cond_indep_stack"]] == ["a", "b"]
    assert [f.dim for f in tr.trace["y"]["cond_indep_stack"]] == [-2, -1]


def test_dims_are_freed_on_exit_and_on_error():
    with pytest.raises(RuntimeError):
        with pyro.plate("boom", 2):
            raise RuntimeError
    with pyro.plate("after", 3) as ind:
        x = pyro.sample("x", dist.Normal(0.0, 1.0))
    assert ind.shape == (3,) and x.shape == (3,)


def test_plate_dim_errors():
    with pytest.raises(ValueError, match="dim -1, already used by the enclosing plate 'a'"):
        with pyro.plate("a", 2):
            with pyro.plate("b", 3, dim=-1):
                pass
    with pytest.raises(ValueError, match="already active"):
        with pyro.plate("a", 2):
            with pyro.plate("a", 2):
                pass
    with pytest.raises(ValueError, match="negative int"):
        pyro.plate("a", 2, dim=0)
    with pytest.raises(ValueError, match="drop dim="):
        list(pyro.plate("a", 2, dim=-1))
    with pytest.raises(ValueError, match="has no size: give size= to iterate"):
        list(pyro.plate("a"))  # a plate with no size is vectorized only (issue 8)
    with pytest.raises(ValueError, match="size must be"):
        pyro.plate("a", -3)


def test_plate_size_may_be_a_one_element_tensor_or_a_numpy_integer():
    with pyro.plate("data", torch.tensor(4)) as ind:
        assert ind.tolist() == [0, 1, 2, 3]
    with poutine.trace() as tr:
        with pyro.plate("np", np.int64(10), subsample_size=np.int64(5)) as ind:
            pyro.sample("x", dist.Normal(0.0, 1.0))
    assert ind.shape == (5,) and tr.trace["x"]["scale"] == 2.0


def test_subsample_size_scales_and_records_a_subsample_site():
    def m():
        with pyro.plate("data", 20, subsample_size=4) as ind:
            pyro.sample("obs", dist.Normal(0.0, 1.0), obs=DATA[ind])
        return ind

    tr = poutine.trace(m).get_trace()
    ind = tr["_RETURN"]["value"]
    assert ind.shape == (4,) and len(set(ind.tolist())) == 4
    assert 0 <= ind.min().item() and ind.max().item() < 20
    sub = tr["data"]
    assert isinstance(sub["fn"], _Subsample) and sub["value"] is ind
    (frame,) = tr["obs"]["cond_indep_stack"]
    assert frame.size == 4 and frame.full_size == 20
    assert tr["obs"]["scale"] == 5.0  # 20 / 4
    expected = 5.0 * std_normal_lp(DATA[ind]).sum().item()
    assert abs(tr.log_prob_sum().item() - expected) < 1e-4


def test_given_subsample_and_its_errors():
    sub = torch.tensor([3, 7, 11])

    def m():
        with pyro.plate("data", 20, subsample=sub) as ind:
            pyro.sample("obs", dist.Normal(0.0, 1.0), obs=DATA[ind])
        return ind

    tr = poutine.trace(m).get_trace()
    assert tr["_RETURN"]["value"].tolist() == [3, 7, 11]
    assert tr["obs"]["scale"] == pytest.approx(20 / 3)
    expected = (20 / 3) * std_normal_lp(DATA[sub]).sum().item()
    assert abs(tr.log_prob_sum().item() - expected) < 1e-4
    # size defaults to len(subsample): no scaling
    with pyro.plate("d", subsample=sub) as ind:
        assert ind.tolist() == [3, 7, 11]
    with pytest.raises(ValueError, match="disagrees"):
        pyro.plate("d", 20, subsample_size=2, subsample=sub)
    with pytest.raises(ValueError, match="1-d"):
        pyro.plate("d", 20, subsample=torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="subsample_size needs size"):
        pyro.plate("d", subsample_size=3)


def test_subsample_size_not_smaller_than_size_is_no_subsampling():
    with poutine.trace() as tr:
        with pyro.plate("data", 3, subsample_size=5) as ind:
            pyro.sample("x", dist.Normal(0.0, 1.0))
    assert ind.tolist() == [0, 1, 2] and tr.trace["x"]["scale"] == 1.0
    assert tr.trace["data"]["value"].tolist() == [0, 1, 2]  # every plate is recorded, as in Pyro


def test_iterated_plate_with_subsample_size():
    data = torch.arange(10.0)
    with poutine.trace() as tr:
        visited = []
        for i in pyro.plate("loop", 10, subsample_size=5):
            visited.append(i)
            pyro.sample(f"obs_{i}", dist.Normal(0.0, 1.0), obs=data[i])
    assert len(visited) == 5 and len(set(visited)) == 5
    assert [tr.trace[f"obs_{i}"]["scale"] for i in visited] == [2.0] * 5  # 10 / 5
    assert tr.trace["loop"]["value"].tolist() == visited


def test_nested_subsampled_plates_multiply_scales():
    with poutine.trace() as tr:
        with pyro.plate("rows", 6, subsample_size=2, dim=-2):
            with pyro.plate("cols", 8, subsample_size=4):
                x = pyro.sample("x", dist.Normal(0.0, 1.0))
    assert x.shape == (2, 4) and tr.trace["x"]["scale"] == pytest.approx(3.0 * 2.0)
    # the inner plate's subsample site is drawn inside the outer plate but is not expanded
    assert tr.trace["rows"]["value"].shape == (2,) and tr.trace["cols"]["value"].shape == (4,)


def test_plate_reuse_keeps_indices_and_dim():
    data_plate = pyro.plate("data", 10, subsample_size=3)
    with poutine.trace() as tr:
        with data_plate as first:
            x = pyro.sample("x", dist.Normal(0.0, 1.0))
        with data_plate as second:
            y = pyro.sample("y", dist.Normal(x, 1.0))
    assert first is second and x.shape == y.shape == (3,)
    fx, fy = tr.trace["x"]["cond_indep_stack"][0], tr.trace["y"]["cond_indep_stack"][0]
    assert fx == fy and fx.dim == -1
    assert tr.trace["x"]["scale"] == tr.trace["y"]["scale"] == pytest.approx(10 / 3)


def test_guide_and_model_share_the_subsample_through_replay():
    def guide():
        with pyro.plate("data", 100, subsample_size=5) as ind:
            pyro.sample("z", dist.Normal(0.0, 1.0))
        return ind

    def model():
        with pyro.plate("data", 100, subsample_size=5) as ind:
            pyro.sample("z", dist.Normal(0.0, 1.0))
        return ind

    guide_tr = poutine.trace(guide).get_trace()
    model_tr = poutine.trace(poutine.replay(model, trace=guide_tr)).get_trace()
    assert torch.equal(model_tr["_RETURN"]["value"], guide_tr["_RETURN"]["value"])
    assert model_tr["z"]["value"] is guide_tr["z"]["value"]


def test_plate_stack():
    with poutine.trace() as tr:
        with pyro.plate_stack("grid", [2, 3]):
            x = pyro.sample("x", dist.Normal(0.0, 1.0))
        with pyro.plate_stack("shifted", [4], rightmost_dim=-2):
            y = pyro.sample("y", dist.Normal(0.0, 1.0))
    assert x.shape == (2, 3) and y.shape == (4, 1)
    dims = {f.name: f.dim for f in tr.trace["x"]["cond_indep_stack"]}
    assert dims == {"grid_0": -2, "grid_1": -1}


def test_block_plate_draws_a_global_site_inside_a_plate():
    with poutine.trace() as tr:
        with pyro.plate("data", 3):
            with poutine.block_plate("data"):
                g = pyro.sample("g", dist.Normal(0.0, 1.0))
            x = pyro.sample("x", dist.Normal(g, 1.0))
        with pyro.plate("a", 2):  # dim -1
            with pyro.plate("b", 4):  # dim -2
                with poutine.block_plate(dim=-2):
                    h = pyro.sample("h", dist.Normal(0.0, 1.0))
    assert g.shape == () and tr.trace["g"]["cond_indep_stack"] == () and x.shape == (3,)
    assert h.shape == (2,) and [f.name for f in tr.trace["h"]["cond_indep_stack"]] == ["a"]
    with pytest.raises(ValueError, match="no enclosing plate named 'nope'"):
        with poutine.block_plate("nope"):
            pass
    with poutine.block_plate("nope", strict=False):
        pass


def test_pyro_subsample_indexes_data_along_each_plate_dim():
    data = torch.arange(40.0).reshape(20, 2)
    with pyro.plate("data", 20, subsample_size=5) as ind:
        batch = pyro.subsample(data, event_dim=1)
        column = pyro.subsample(data[:, 0], event_dim=0)
        broadcastable = pyro.subsample(torch.ones(1, 2), event_dim=1)
    assert torch.equal(batch, data[ind]) and torch.equal(column, data[ind, 0])
    assert broadcastable.shape == (1, 2)
    assert pyro.subsample(data, event_dim=1) is data  # no plate: unchanged
    with pyro.plate("data", 20):
        assert pyro.subsample(data, event_dim=1) is data  # no subsampling: unchanged
    with pytest.raises(ValueError, match="should have size 20"):
        with pyro.plate("data", 20, subsample_size=5):
            pyro.subsample(torch.zeros(7, 2), event_dim=1)


def test_param_with_event_dim_is_subsampled_inside_a_subsampled_plate():
    full_loc = torch.arange(10.0)
    full_w = torch.arange(20.0).reshape(10, 2)
    full_s = torch.linspace(1.0, 2.0, 10)
    with poutine.trace() as tr:
        with pyro.plate("data", 10, subsample_size=3) as ind:
            loc = pyro.param("loc", full_loc, event_dim=0)
            w = pyro.param("w", full_w, event_dim=1)
            s = pyro.param("s", full_s, constraint=constraints.positive, event_dim=0)
            g = pyro.param("g", torch.ones(10))  # no event_dim: not subsampled
    assert torch.equal(loc, full_loc[ind]) and torch.equal(w, full_w[ind])
    assert torch.allclose(s, full_s[ind]) and g.shape == (10,)
    # the store keeps the whole parameter (and the site, recorded by the trace outside
    # the plate before the plate subsamples it on the way up, links to its leaf)
    assert pyro.param("w").shape == (10, 2)
    assert tr.trace["w"]["value"].unconstrained() is dict(
        pyro.get_param_store().named_parameters())["w"]
    # positive <-> exp: the unconstrained leaf is log of the whole parameter
    unconstrained = s.unconstrained()
    assert unconstrained.shape == (10,) and torch.allclose(unconstrained, full_s.log())
    # the subsample is differentiable in the stored parameter
    loc.sum().backward()
    grad = pyro.get_param_store().named_parameters()
    grad = dict(grad)["loc"].grad
    assert grad.sum().item() == 3.0 and grad[ind].tolist() == [1.0, 1.0, 1.0]


def test_plate_broadcasts_observed_and_latent_sites():
    with poutine.trace() as tr:
        with pyro.plate("data", 4):
            pyro.sample("x", dist.Normal(torch.zeros(1), 1.0), obs=torch.zeros(4))
    assert tr.trace["x"]["fn"].batch_shape == (4,)


@pytest.mark.parametrize("n, k", [(20, 2), (1000, 50), (50, 40)])
def test_subsample_indices_are_uniform(n, k):
    # Each index is included with probability k/n; over R draws its count is
    # Binomial(R, k/n): 5 standard deviations of tolerance. The first position is
    # uniform too (count Binomial(R, 1/n)); +1 for the discreteness of small counts.
    torch.manual_seed(0)
    R = 4000
    counts = torch.zeros(n)
    first = torch.zeros(n)
    sampler = _Subsample(n, k)
    for _ in range(R):
        idx = sampler.sample()
        assert idx.shape == (k,) and idx.unique().numel() == k
        assert 0 <= int(idx.min()) and int(idx.max()) < n
        counts[idx] += 1
        first[idx[0]] += 1
    p = k / n
    assert (counts - R * p).abs().max() < 5 * (R * p * (1 - p)) ** 0.5
    q = 1 / n
    assert (first - R * q).abs().max() < 5 * (R * q * (1 - q)) ** 0.5 + 1
