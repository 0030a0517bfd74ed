"""Errors under pyro.enable_validation(True): each names the site / plate / shapes /
parameter at fault and says what to do."""
import pytest
import torch
import torch.distributions as dist
from torch.distributions import constraints

import pyro
from pyro import poutine
from pyro.util import check_site_shape


def test_duplicate_site_names():
    def m():
        for _ in range(2):
            pyro.sample("x", dist.Normal(0.0, 1.0))

    with pytest.raises(RuntimeError, match="Multiple sample sites named 'x'.*unique name"):
        poutine.trace(m).get_trace()

    def param_then_sample():
        pyro.param("y", torch.tensor(1.0))
        pyro.sample("y", dist.Normal(0.0, 1.0))

    with pytest.raises(RuntimeError, match="'y'"):
        poutine.trace(param_then_sample).get_trace()


def test_plate_size_disagreeing_with_batch_shape():
    def m():
        with pyro.plate("data", 10):
            pyro.sample("x", dist.Normal(torch.zeros(5), 1.0))

    with pytest.raises(ValueError) as info:
        m()
    message = str(info.value)
    for part in ("site 'x'", "plate('data')", "size 10", "dim -1", "batch_shape is (5,)",
                 "size 5"):
        assert part in message, part


def test_plate_size_disagreeing_at_an_inner_dim():
    def m():
        with pyro.plate("rows", 3, dim=-2):
            pyro.sample("x", dist.Normal(torch.zeros(4, 2), 1.0))

    with pytest.raises(ValueError, match="plate\\('rows'\\) at site 'x'.*dim -2.*\\(4, 2\\)"):
        m()


def test_obs_of_shape_n_1_against_batch_n_is_accepted_as_in_pyro():
    data = torch.zeros(4, 1)  # (N, 1) data against batch_shape (N,): Pyro accepts it

    def m():
        with pyro.plate("data", 4):
            pyro.sample("obs", dist.Normal(0.0, 1.0), obs=data)

    tr = poutine.trace(m).get_trace()
    tr.compute_log_prob()
    assert tr.nodes["obs"]["log_prob"].shape == (4, 4)  # broadcast, as in Pyro


def test_obs_that_does_not_broadcast_at_all():
    with pytest.raises(ValueError, match="shape \\(3,\\) at site 'o'.*batch_shape \\(2,\\)"):
        poutine.trace(lambda: pyro.sample("o", dist.Normal(torch.zeros(2), 1.0),
                                          obs=torch.zeros(3))).get_trace()


def test_param_init_outside_its_constraint():
    # Pyro stores it (issue 8); validation warns, naming the param and the constraint.
    with pytest.warns(RuntimeWarning, match="pyro.param\\('s'\\).*-1.0.*GreaterThan"):
        pyro.param("s", torch.tensor([1.0, -1.0]), constraint=constraints.positive)
    with pytest.warns(RuntimeWarning, match="pyro.param\\('p'\\).*Interval"):
        pyro.param("p", torch.tensor(1.5), constraint=constraints.unit_interval)
    assert "s" in pyro.get_param_store() and "p" in pyro.get_param_store()
    pyro.enable_validation(False)
    pyro.param("q", torch.tensor(0.5), constraint=constraints.unit_interval)


def test_param_with_event_dim_of_the_wrong_size_inside_a_plate():
    with pytest.raises(ValueError, match="pyro.plate\\('d', 5, dim=-1\\): pyro.param\\('p', "
                       "...\\) with event_dim=0 has shape \\(3,\\)"):
        with pyro.plate("d", 5):
            pyro.param("p", torch.ones(3), event_dim=0)


def test_non_distribution_to_sample():
    with pytest.raises(TypeError, match="'x'.*expects a distribution.*got int"):
        poutine.trace(lambda: pyro.sample("x", 1)).get_trace()


def test_value_outside_the_support_names_the_site():
    tr = poutine.trace(lambda: pyro.sample("k", dist.Bernoulli(0.5), obs=torch.tensor(2.0))
                       ).get_trace()
    with pytest.raises(ValueError, match="site 'k'.*Bernoulli"):
        tr.compute_log_prob()


def test_distribution_arguments_are_checked():
    with pytest.raises(ValueError):
        pyro.sample("x", dist.Normal(0.0, -1.0))


def test_check_site_shape_plate_beyond_max_plate_nesting():
    def m():
        with pyro.plate("p", 4, dim=-2):
            pyro.sample("x", dist.Normal(torch.zeros(4, 1), 1.0))

    tr = poutine.trace(m).get_trace()
    tr.compute_log_prob()
    with pytest.raises(ValueError, match="site 'x'.*plate 'p'.*max_plate_nesting=1"):
        check_site_shape(tr["x"], max_plate_nesting=1)
    check_site_shape(tr["x"], max_plate_nesting=2)


def test_check_site_shape_batch_dim_without_a_plate():
    tr = poutine.trace(lambda: pyro.sample("x", dist.Normal(torch.zeros(5), 1.0))).get_trace()
    tr.compute_log_prob()
    with pytest.raises(ValueError, match="site 'x'"):
        check_site_shape(tr["x"], max_plate_nesting=1)
