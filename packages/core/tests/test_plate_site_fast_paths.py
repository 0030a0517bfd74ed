"""A plate's subsample site after the construction short cuts: the ``_Subsample``
distribution has the state torch's ``Distribution.__init__`` gives it, a full-size plate
hands out a fresh ``arange`` (never a shared tensor), and numpy / Python integer sizes
and subsample sizes are taken as before."""
import numpy as np
import pytest
import torch

import pyro
from pyro import poutine
from pyro.poutine.subsample_messenger import _Subsample


def test_subsample_distribution_state():
    d = _Subsample(10, 4)
    ref = torch.distributions.Distribution(validate_args=False)
    assert d.batch_shape == ref.batch_shape == torch.Size()
    assert d.event_shape == ref.event_shape == torch.Size()
    assert d._validate_args is False
    assert (d.size, d.subsample_size, d.device) == (10, 4, None)
    assert _Subsample(7, None).subsample_size == 7
    assert d.log_prob(torch.arange(4)).item() == 0.0


@pytest.mark.parametrize("device", [None, "cpu", torch.device("cpu")])
def test_full_size_indices_are_fresh_aranges(device):
    def model():
        with pyro.plate("a", 6, device=device) as i:
            pass
        with pyro.plate("b", 6, device=device) as j:
            pass
        return i, j

    tr = poutine.trace(model).get_trace()
    i, j = tr.nodes["_RETURN"]["value"]
    assert i is not j and i.data_ptr() != j.data_ptr()
    assert i.dtype == torch.int64 and i.tolist() == list(range(6))
    i.add_(1)  # the user's own tensor: the other plate's indices are untouched
    assert j.tolist() == list(range(6))
    assert tr.nodes["b"]["value"].tolist() == list(range(6))
    # outside any handler too
    with pyro.plate("c", 3, device=device) as k:
        assert k.tolist() == [0, 1, 2]


@pytest.mark.parametrize("subsample_size", [3, np.int64(3), np.int32(3), None])
def test_integer_kinds_of_subsample_size(subsample_size):
    pyro.set_rng_seed(0)
    with pyro.plate("d", 10, subsample_size=subsample_size) as idx:
        pass
    assert len(idx) == (10 if subsample_size is None else 3)
    assert idx.dtype == torch.int64


@pytest.mark.parametrize("bad", [-1, 2.5, "3"])
def test_bad_subsample_size_is_refused(bad):
    with pytest.raises(ValueError, match="subsample_size"):
        pyro.plate("e", 10, subsample_size=bad)
