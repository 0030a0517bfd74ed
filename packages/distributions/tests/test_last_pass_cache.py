"""The flows whose log|det J| comes out of the pass itself reuse it for exactly the pair the
latest forward or inverse pass produced, and recompute it for any other pair."""
import pytest
import torch

from pyro.distributions import transforms as T

pytest.importorskip("pyro.nn", reason="the helper functions build pyro.nn networks")

BUILDERS = {
    "affine_autoregressive": lambda: T.affine_autoregressive(3),
    "affine_coupling": lambda: T.affine_coupling(3),
    "spline": lambda: T.Spline(3),
    "spline_autoregressive": lambda: T.spline_autoregressive(3),
    "spline_coupling": lambda: T.spline_coupling(3),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_log_det_of_the_latest_pass_is_reused_and_others_recomputed(name):
    torch.manual_seed(0)
    t = BUILDERS[name]()
    x = torch.randn(4, 3)
    y = t(x)
    expected = t.log_abs_det_jacobian(x, y)
    assert (expected != 0).all()
    # a zero planted in the cache shows that the pair (x, y) is served from it
    t._last_pass.put(x, y, torch.zeros_like(t._last_pass.get(x, y)))
    assert (t.log_abs_det_jacobian(x, y) == 0).all()
    # any other pair (here equal values in other tensors) is recomputed
    assert torch.allclose(t.log_abs_det_jacobian(x.clone(), y.clone()), expected, atol=1e-5)
    # an inverse pass caches the log|det J| of the pair it produced
    y_new = y.clone()
    x_new = t.inv(y_new)
    assert torch.allclose(x_new, x, atol=1e-4)
    assert t._last_pass.get(x_new, y_new) is not None
    assert torch.allclose(t.log_abs_det_jacobian(x_new, y_new), expected, atol=1e-4)
