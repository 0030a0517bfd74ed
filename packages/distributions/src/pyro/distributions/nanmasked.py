"""Normal and multivariate normal likelihoods with missing (NaN) observations."""
from __future__ import annotations

import math

import torch

from .torch import MultivariateNormal, Normal

__all__ = ["NanMaskedMultivariateNormal", "NanMaskedNormal"]


class NanMaskedNormal(Normal):
    """:class:`~pyro.distributions.Normal` whose :meth:`log_prob` is 0 at NaN entries of the
    value (partially observed data; gradients stay finite)::

        data = torch.tensor([0.5, 0.1, nan, 0.9])
        with pyro.plate("data", len(data)):
            pyro.sample("obs", NanMaskedNormal(0, 1), obs=data)
    """

    def log_prob(self, value):
        ok = ~torch.isnan(value)
        if bool(ok.all()):
            return super().log_prob(value)
        safe = torch.where(ok, value, torch.zeros_like(value))
        loc, scale, safe = torch.broadcast_tensors(self.loc, self.scale, safe)
        ok = ok.expand(safe.shape)
        # evaluate at the mean where missing, so that no NaN reaches the gradient
        safe = torch.where(ok, safe, loc.detach())
        z = (safe - loc) / scale
        lp = -0.5 * z**2 - scale.log() - 0.5 * math.log(2 * math.pi)
        return torch.where(ok, lp, torch.zeros_like(lp))


class NanMaskedMultivariateNormal(MultivariateNormal):
    """:class:`~pyro.distributions.MultivariateNormal` whose :meth:`log_prob` marginalizes
    over the NaN entries of each event (the log density of the observed coordinates' marginal;
    0 when the whole event is missing)::

        data = torch.tensor([[0.1, 0.2, 3.4], [0.5, 0.1, nan], [nan, nan, nan]])
        with pyro.plate("data", len(data)):
            pyro.sample("obs", NanMaskedMultivariateNormal(torch.zeros(3), torch.eye(3)),
                        obs=data)
    """

    def log_prob(self, value):
        ok = ~torch.isnan(value)
        if bool(ok.all()):
            return super().log_prob(value)
        # The observed coordinates' marginal: keep the covariance on observed pairs, set
        # missing rows/columns to the identity and the missing values to the mean; the full
        # log density is then the marginal plus one standard-normal constant per missing
        # coordinate.
        shape = torch.broadcast_shapes(value.shape, self.loc.shape)
        ok = ok.expand(shape)
        loc = self.loc.expand(shape)
        safe = torch.where(ok, value.expand(shape), loc.detach())
        cov = self.covariance_matrix
        pair = ok.unsqueeze(-1) & ok.unsqueeze(-2)
        eye = torch.eye(cov.size(-1), dtype=cov.dtype, device=cov.device)
        cov = torch.where(pair, cov, eye.expand(pair.shape))
        tril = torch.linalg.cholesky(cov)
        diff = (safe - loc).unsqueeze(-1)
        y = torch.linalg.solve_triangular(tril, diff, upper=False).squeeze(-1)
        n_obs = ok.sum(-1).to(cov.dtype)
        half_log_det = tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (y**2).sum(-1) - half_log_det - 0.5 * n_obs * math.log(2 * math.pi)
