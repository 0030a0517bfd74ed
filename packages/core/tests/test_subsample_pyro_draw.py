"""A subsampled plate draws the indices Pyro 1.9 draws for the same seed, and leaves the
random generator where Pyro leaves it (fixture recorded from pyro-ppl 1.9.2, see
data/make_pyro_subsample_indices.py)."""
import json
from pathlib import Path

import pytest
import torch

import pyro
from pyro import poutine
from pyro.poutine.subsample_messenger import _Subsample

FIXTURE = json.loads((Path(__file__).parent / "data" / "pyro_subsample_indices.json").read_text())


@pytest.mark.parametrize("case", FIXTURE["cases"],
                         ids=lambda c: f"seed{c['seed']}-n{c['size']}-k{c['subsample_size']}")
def test_subsample_site_matches_pyro_ppl(case):
    n, k = case["size"], case["subsample_size"]

    def model():
        with pyro.plate("data", n, subsample_size=k) as idx:
            return idx

    pyro.set_rng_seed(case["seed"])
    tr = poutine.trace(model).get_trace()
    value = tr.nodes["data"]["value"]
    assert value.dtype == torch.int64
    assert value.tolist() == case["indices"]
    # same generator consumption: the next uniforms agree too
    assert torch.rand(3).tolist() == case["next_uniforms"]


def test_plate_outside_handlers_draws_the_same_indices():
    case = FIXTURE["cases"][1]
    pyro.set_rng_seed(case["seed"])
    with pyro.plate("data", case["size"], subsample_size=case["subsample_size"]) as idx:
        pass
    assert idx.tolist() == case["indices"]


def test_full_plate_draws_nothing():
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    assert _Subsample(7, None).sample().tolist() == list(range(7))
    assert _Subsample(7, 7).sample().tolist() == list(range(7))
    assert torch.equal(torch.rand(2), expected)


def test_subsample_follows_the_plate_device():
    idx = _Subsample(30, 4, device=torch.device("cpu")).sample()
    assert idx.device == torch.device("cpu") and idx.shape == (4,)
    if torch.cuda.is_available():
        idx = _Subsample(30, 4, device="cuda").sample()
        assert idx.device.type == "cuda" and idx.unique().numel() == 4
