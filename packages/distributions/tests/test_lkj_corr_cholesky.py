"""LKJCorrCholesky: Pyro's deprecated spelling of LKJCholesky(d, eta)."""
import pytest
import torch

import pyro.distributions as dist


def test_lkj_corr_cholesky_warns_and_equals_lkj_cholesky():
    eta = torch.tensor([0.5, 2.0])
    with pytest.warns(FutureWarning, match="LKJCholesky"):
        d = dist.LKJCorrCholesky(3, eta)
    ref = dist.LKJCholesky(3, eta)
    assert isinstance(d, dist.LKJCholesky)
    assert d.batch_shape == (2,) and d.event_shape == (3, 3)
    x = d.sample((4,))
    assert torch.allclose(d.log_prob(x), ref.log_prob(x))
    # rows of a correlation Cholesky factor have unit norm
    assert torch.allclose(x.norm(dim=-1), torch.ones(4, 2, 3))


def test_lkj_corr_cholesky_keyword_names():
    with pytest.warns(FutureWarning):
        d = dist.LKJCorrCholesky(d=2, eta=torch.tensor(1.5), validate_args=True)
    assert d.dim == 2 and d.concentration.item() == 1.5
