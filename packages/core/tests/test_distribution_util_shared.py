"""Shared helpers of pyro.primitive_distributions.util: log_prob_unchecked turns the
distribution's own value check off for the call and leaves its flag as it was (instance flag
restored, class default unshadowed); shapes_broadcast follows torch.broadcast_shapes."""
import pytest
import torch

from pyro.primitive_distributions.util import log_prob_unchecked


def _normal(**kwargs):
    return torch.distributions.Normal(torch.zeros(2), torch.ones(2), **kwargs)


def test_same_density_and_no_check():
    d = _normal(validate_args=True)
    x = torch.tensor([0.3, -1.2])
    assert torch.equal(log_prob_unchecked(d, x), d.log_prob(x))
    # a value outside the support is refused by the check; unchecked, torch's formula
    # scores it (-inf for Uniform)
    u = torch.distributions.Uniform(0.0, 1.0, validate_args=True)
    with pytest.raises(ValueError):
        u.log_prob(torch.tensor(2.0))
    assert log_prob_unchecked(u, torch.tensor(2.0)).item() == float("-inf")


def test_instance_flag_restored_and_class_default_left_alone(monkeypatch):
    d = _normal(validate_args=True)
    log_prob_unchecked(d, torch.zeros(2))
    assert d.__dict__["_validate_args"] is True
    monkeypatch.setattr(torch.distributions.Distribution, "_validate_args", True)
    e = torch.distributions.Normal.__new__(torch.distributions.Normal)
    e.loc, e.scale = torch.zeros(2), torch.ones(2)
    e._batch_shape, e._event_shape = torch.Size([2]), torch.Size()
    assert "_validate_args" not in e.__dict__
    log_prob_unchecked(e, torch.zeros(2))
    assert "_validate_args" not in e.__dict__ and e._validate_args is True


def test_flag_restored_when_log_prob_raises():
    class Broken(torch.distributions.Normal):
        def log_prob(self, value):
            assert not self._validate_args  # the check is off during the call
            raise RuntimeError("boom")

    d = Broken(torch.zeros(2), torch.ones(2), validate_args=True)
    with pytest.raises(RuntimeError, match="boom"):
        log_prob_unchecked(d, torch.zeros(2))
    assert d._validate_args is True


def test_unvalidated_distribution_calls_straight_through():
    d = _normal(validate_args=False)
    log_prob_unchecked(d, torch.zeros(2))
    assert d.__dict__["_validate_args"] is False


def test_shapes_broadcast_agrees_with_torch():
    from itertools import product

    from pyro.primitive_distributions.util import shapes_broadcast

    dims = [(), (1,), (3,), (2, 1), (2, 3), (1, 3), (4, 1, 3), (4, 2, 3), (0,), (0, 3)]
    for a, b in product(dims, dims):
        try:
            torch.broadcast_shapes(a, b)
            expected = True
        except RuntimeError:
            expected = False
        assert shapes_broadcast(torch.Size(a), torch.Size(b)) is expected, (a, b)
