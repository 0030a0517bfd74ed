"""A plate's attributes as in Pyro 1.9: ``size`` is the full size, ``subsample_size`` the
number of elements visited; the frames of the sites inside carry ``size=subsample_size``
and ``full_size=size``."""
import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine


def test_subsampled_plate_attributes_and_frames():
    pyro.set_rng_seed(0)

    def model():
        with pyro.plate("data", 10, subsample_size=3) as ind:
            plate = poutine.runtime._PYRO_STACK[-1]
            assert plate.size == 10
            assert plate.subsample_size == 3
            assert plate.indices is ind and ind.shape == (3,)
            pyro.sample("x", dist.Normal(0.0, 1.0))

    trace = poutine.trace(model).get_trace()
    frame = trace.nodes["x"]["cond_indep_stack"][0]
    assert (frame.size, frame.full_size) == (3, 10)
    assert trace.nodes["x"]["value"].shape == (3,)
    assert trace.nodes["x"]["scale"] == pytest.approx(10 / 3)


@pytest.mark.parametrize("kwargs, size, subsample_size", [
    ({"size": 5}, 5, 5),
    ({"size": 5, "subsample_size": 5}, 5, 5),
    ({"size": 8, "subsample_size": 2}, 8, 2),
    ({"size": 8, "subsample": torch.tensor([1, 4, 6])}, 8, 3),
    ({"subsample": torch.tensor([1, 4])}, 2, 2),
    ({"size": None}, -1, -1),
])
def test_plate_size_is_full_size(kwargs, size, subsample_size):
    plate = pyro.plate("p", **kwargs)
    assert plate.size == size
    assert plate.subsample_size == subsample_size
    assert plate.full_size == size  # kept as an alias of size


def test_replayed_subsample_sets_subsample_size():
    def fn():
        with pyro.plate("p", 6, subsample_size=2) as ind:
            return poutine.runtime._PYRO_STACK[-1], ind

    guide_trace = poutine.trace(fn).get_trace()
    guide_trace.nodes["p"]["value"] = torch.tensor([0, 2, 5])
    (plate, ind) = poutine.replay(fn, trace=guide_trace)()
    assert plate.size == 6 and plate.subsample_size == 3
    assert ind.tolist() == [0, 2, 5]


def test_sequential_subsampled_plate_frames():
    pyro.set_rng_seed(1)

    def model():
        for i in pyro.plate("seq", 10, subsample_size=2):
            pyro.sample(f"y_{i}", dist.Normal(0.0, 1.0))

    trace = poutine.trace(model).get_trace()
    sites = [s for n, s in trace.nodes.items() if n.startswith("y_")]
    assert len(sites) == 2
    for site in sites:
        frame = site["cond_indep_stack"][0]
        assert (frame.dim, frame.size, frame.full_size) == (None, 2, 10)
        assert site["scale"] == pytest.approx(5.0)


def test_param_with_event_dim_is_subsampled_by_full_size():
    pyro.clear_param_store()
    with pyro.plate("p", 4, subsample=torch.tensor([3, 1])):
        value = pyro.param("w", torch.arange(4.0), event_dim=0)
    assert value.tolist() == [3.0, 1.0]
