"""Statistics of Monte Carlo draws: autocorrelation, effective sample size, R-hat,
credible intervals, quantiles, WAIC, resampling and per-site summaries.

Every function takes torch tensors and returns tensors of the same dtype and device;
this module depends on torch only.

Conventions. Functions over several chains take ``input`` with a chain dimension
(``chain_dim``, default 0) and a draw dimension (``sample_dim``, default 1); every other
dimension is a batch of independent scalar quantities, e.g. draws of a site shaped
``(num_chains, num_samples) + site_shape`` give results shaped ``site_shape``.

Which effective sample size. :func:`effective_sample_size` is Geyer's initial monotone
sequence estimator on the raw draws (the estimator Pyro reports as ``n_eff``, with the
multi-chain variance of Gelman et al., BDA3 section 11.5). :func:`bulk_effective_sample_size`
is the rank-normalized split "bulk" ESS of Vehtari et al. (2021), the one Stan and ArviZ
report as ``ess_bulk``; both share the same autocorrelation and Geyer truncation code.

**References**

- C. J. Geyer (1992), "Practical Markov chain Monte Carlo", Statistical Science 7(4).
- A. Gelman, J. Carlin, H. Stern, D. Dunson, A. Vehtari, D. Rubin (2013), "Bayesian Data
  Analysis", 3rd ed., section 11.4-11.5 (R-hat, split R-hat, effective sample size).
- A. Vehtari, A. Gelman, D. Simpson, B. Carpenter, P.-C. Buerkner (2021),
  "Rank-normalization, folding, and localization: an improved R-hat for assessing
  convergence of MCMC", Bayesian Analysis 16(2).
- S. Watanabe (2010), "Asymptotic equivalence of Bayes cross validation and widely
  applicable information criterion in singular learning theory", JMLR 11.
- A. Vehtari, A. Gelman, J. Gabry (2017), "Practical Bayesian model evaluation using
  leave-one-out cross-validation and WAIC", Statistics and Computing 27.
- R. J. Hyndman (1996), "Computing and graphing highest density regions",
  The American Statistician 50(2).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch

__all__ = [
    "autocorrelation",
    "autocovariance",
    "bulk_effective_sample_size",
    "effective_sample_size",
    "gelman_rubin",
    "hpdi",
    "pi",
    "quantile",
    "resample",
    "split_gelman_rubin",
    "summary",
    "waic",
]

Probs = float | Sequence[float] | torch.Tensor


def _as_float(input: torch.Tensor) -> torch.Tensor:
    if not isinstance(input, torch.Tensor):
        input = torch.as_tensor(input)
    if not input.is_floating_point():
        input = input.to(torch.get_default_dtype())
    return input


def _chains_first(input: torch.Tensor, chain_dim: int, sample_dim: int) -> torch.Tensor:
    """Move (chain_dim, sample_dim) to (0, 1)."""
    if input.dim() < 2:
        raise ValueError(
            f"expected draws shaped (num_chains, num_samples, ...) with at least 2 dims, got "
            f"shape {tuple(input.shape)}; add a chain dimension with input.unsqueeze(0)"
        )
    chain_dim = chain_dim % input.dim()
    sample_dim = sample_dim % input.dim()
    if chain_dim == sample_dim:
        raise ValueError(f"chain_dim and sample_dim must differ, both are {chain_dim}")
    return input.movedim((chain_dim, sample_dim), (0, 1))


# --------------------------------------------------------------------- autocorrelation


def _next_fast_len(n: int) -> int:
    size = 1
    while size < n:
        size *= 2
    return size


def autocovariance(input: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Biased sample autocovariance along ``dim``, computed with an FFT in O(N log N).

    ``result[k] = (1 / N) * sum_{t=0}^{N-1-k} (x_t - xbar) (x_{t+k} - xbar)``, for lags
    ``k = 0, ..., N - 1`` laid out along ``dim``.

    :param torch.Tensor input: draws; ``input.size(dim)`` is the number of draws N.
    :param int dim: the draw dimension.
    :returns: a tensor shaped like ``input``.
    """
    input = _as_float(input)
    x = input.movedim(dim, -1)
    n = x.size(-1)
    centered = x - x.mean(-1, keepdim=True)
    m = _next_fast_len(2 * n)
    freq = torch.fft.rfft(centered, n=m)
    acov = torch.fft.irfft(freq.real.square() + freq.imag.square(), n=m)[..., :n] / n
    return acov.movedim(-1, dim)


def autocorrelation(input: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Sample autocorrelation along ``dim``: :func:`autocovariance` divided by its lag-0
    value, so that ``result[0] == 1``. A constant series gives NaN.

    :param torch.Tensor input: draws; ``input.size(dim)`` is the number of draws.
    :param int dim: the draw dimension.
    :returns: a tensor shaped like ``input``.
    """
    acov = autocovariance(input, dim).movedim(dim, -1)
    return (acov / acov[..., :1]).movedim(-1, dim)


# ---------------------------------------------------------------------------- R-hat


def _chain_variance_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For draws shaped (C, N, ...): the within-chain variance W (mean of the unbiased
    per-chain variances) and the pooled estimator var+ = (N-1)/N W + B/N (BDA3 11.4)."""
    n = x.size(1)
    chain_var, chain_mean = torch.var_mean(x, dim=1, correction=1)
    var_within = chain_var.mean(0)
    var_plus = var_within * ((n - 1) / n)
    if x.size(0) > 1:
        var_plus = var_plus + chain_mean.var(dim=0, correction=1)
    return var_within, var_plus


def gelman_rubin(input: torch.Tensor, chain_dim: int = 0, sample_dim: int = 1) -> torch.Tensor:
    """Potential scale reduction factor R-hat = sqrt(var+ / W) (Gelman et al., BDA3 11.4).

    Close to 1 when the chains have mixed; above 1 (e.g. > 1.01) when they disagree.

    :param torch.Tensor input: draws with a chain and a draw dimension (at least 2 draws).
    :param int chain_dim: the chain dimension.
    :param int sample_dim: the draw dimension.
    :returns: R-hat, shaped like ``input`` without the two dimensions.
    :raises ValueError: if there are fewer than 2 draws per chain.

    **References** Gelman et al. (2013), Bayesian Data Analysis 3rd ed., section 11.4.
    """
    x = _chains_first(_as_float(input), chain_dim, sample_dim)
    if x.size(1) < 2:
        raise ValueError(f"gelman_rubin needs at least 2 draws per chain, got {x.size(1)}")
    var_within, var_plus = _chain_variance_stats(x)
    return (var_plus / var_within).sqrt()


def _split_chains(x: torch.Tensor) -> torch.Tensor:
    """(C, N, ...) -> (2C, N // 2, ...): the first and last halves of every chain (the middle
    draw of an odd-length chain is dropped)."""
    half = x.size(1) // 2
    return torch.cat([x[:, :half], x[:, x.size(1) - half:]], dim=0)


def split_gelman_rubin(
    input: torch.Tensor, chain_dim: int = 0, sample_dim: int = 1
) -> torch.Tensor:
    """Split R-hat: :func:`gelman_rubin` after splitting every chain into its two halves,
    which also detects non-stationarity within a single chain.

    :param torch.Tensor input: draws with a chain and a draw dimension (at least 4 draws).
    :returns: split R-hat, shaped like ``input`` without the two dimensions.
    :raises ValueError: if there are fewer than 4 draws per chain.

    **References** Gelman et al. (2013), Bayesian Data Analysis 3rd ed., section 11.4.
    """
    x = _chains_first(_as_float(input), chain_dim, sample_dim)
    if x.size(1) < 4:
        raise ValueError(f"split_gelman_rubin needs at least 4 draws per chain, got {x.size(1)}")
    return gelman_rubin(_split_chains(x), 0, 1)


# ------------------------------------------------------------- effective sample size


def _geyer_ess(x: torch.Tensor) -> torch.Tensor:
    """ESS of draws shaped (C, N, ...) with Geyer's initial monotone sequence."""
    num_chains, n = x.size(0), x.size(1)
    var_within, var_plus = _chain_variance_stats(x)
    acov = autocovariance(x, dim=1).mean(0)  # (N, ...) averaged over chains
    rho = 1.0 - (var_within - acov) / var_plus  # multi-chain autocorrelation (BDA3 11.5)
    rho[0] = 1.0
    # pair sums P_t = rho_{2t} + rho_{2t+1}; an odd last lag has no partner and is dropped
    num_pairs = n // 2
    pairs = rho[: 2 * num_pairs].reshape((num_pairs, 2) + rho.shape[1:]).sum(1)
    # initial positive sequence (truncate at the first non-positive pair) and initial
    # monotone sequence (pairs may not increase) in one pass: a running minimum of the
    # pairs clamped at zero stays zero after the first non-positive pair.
    kept = torch.cumprod(pairs > 0, dim=0)
    num_kept = kept.sum(0, keepdim=True)
    pairs = torch.cummin(pairs.clamp(min=0.0), dim=0).values
    # as in Stan, the even lag of the first rejected pair still counts when positive
    first_rejected = rho.gather(0, (2 * num_kept).clamp(max=n - 1)).squeeze(0)
    extra = torch.where((num_kept.squeeze(0) < num_pairs) & (first_rejected > 0),
                        first_rejected, first_rejected.new_zeros(()))
    tau = -1.0 + 2.0 * pairs.sum(0) + extra
    total = num_chains * n
    # Stan's floor on the autocorrelation time, which bounds ESS for antithetic chains
    tau = tau.clamp(min=1.0 / math.log10(total))
    ess = total / tau
    # a constant quantity has no defined ESS
    return torch.where(var_within > 0, ess, ess.new_full((), float("nan")))


def effective_sample_size(
    input: torch.Tensor, chain_dim: int = 0, sample_dim: int = 1
) -> torch.Tensor:
    """Effective sample size of the draws by Geyer's initial monotone sequence estimator
    on the multi-chain autocorrelation (the estimator Pyro reports as ``n_eff``).

    ``ess = C * N / tau`` with ``tau = -1 + 2 * sum_t P_t``, where ``P_t = rho_{2t} +
    rho_{2t+1}`` are pair sums of the autocorrelations ``rho_k = 1 - (W - mean_c
    gamma_{c,k}) / var+`` truncated at the first non-positive pair and made monotone;
    ``tau`` is floored at ``1 / log10(C N)`` as in Stan. Constant draws give NaN.

    :param torch.Tensor input: draws with a chain and a draw dimension (at least 4 draws).
    :param int chain_dim: the chain dimension.
    :param int sample_dim: the draw dimension.
    :returns: ESS, shaped like ``input`` without the two dimensions.
    :raises ValueError: if there are fewer than 4 draws per chain.

    **References** Geyer (1992); Gelman et al. (2013), BDA3 section 11.5.
    """
    x = _chains_first(_as_float(input), chain_dim, sample_dim)
    if x.size(1) < 4:
        raise ValueError(f"effective_sample_size needs at least 4 draws per chain, got {x.size(1)}")
    return _geyer_ess(x)


def _rank_normalize(x: torch.Tensor) -> torch.Tensor:
    """Normal scores of the pooled ranks of x shaped (C, N, ...), ties averaged:
    ``Phi^{-1}((r - 3/8) / (S + 1/4))``."""
    c, n = x.size(0), x.size(1)
    flat = x.reshape((c * n,) + x.shape[2:]).movedim(0, -1).contiguous()  # (..., S)
    sorted_flat = flat.sort(-1).values
    below = torch.searchsorted(sorted_flat, flat, right=False)
    upto = torch.searchsorted(sorted_flat, flat, right=True)
    ranks = (below + 1 + upto).to(x.dtype) / 2  # average 1-based rank of each tie group
    total = c * n
    z = torch.special.ndtri((ranks - 0.375) / (total + 0.25))
    return z.movedim(-1, 0).reshape(x.shape)


def bulk_effective_sample_size(
    input: torch.Tensor, chain_dim: int = 0, sample_dim: int = 1
) -> torch.Tensor:
    """Rank-normalized split ("bulk") effective sample size of Vehtari et al. (2021), the
    ``ess_bulk`` of Stan and ArviZ: split every chain in halves, replace the draws by the
    normal scores of their pooled ranks, then apply :func:`effective_sample_size`.

    :param torch.Tensor input: draws with a chain and a draw dimension (at least 8 draws).
    :returns: bulk ESS, shaped like ``input`` without the two dimensions.
    :raises ValueError: if there are fewer than 8 draws per chain.

    **References** Vehtari, Gelman, Simpson, Carpenter, Buerkner (2021), Bayesian Analysis.
    """
    x = _chains_first(_as_float(input), chain_dim, sample_dim)
    if x.size(1) < 8:
        raise ValueError(f"bulk_effective_sample_size needs at least 8 draws per chain, "
                         f"got {x.size(1)}")
    split = _split_chains(x)
    ess = _geyer_ess(_rank_normalize(split))
    constant = (split.amax((0, 1)) == split.amin((0, 1)))
    return torch.where(constant, ess.new_full((), float("nan")), ess)


# -------------------------------------------------------------- quantiles, intervals


def _probs_tensor(probs: Probs, like: torch.Tensor) -> torch.Tensor:
    p = torch.as_tensor(probs, dtype=like.dtype, device=like.device)
    if p.dim() > 1:
        raise ValueError(f"probs must be a scalar or 1-d, got shape {tuple(p.shape)}")
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"probs must lie in [0, 1], got {p.tolist()}")
    return p


def quantile(input: torch.Tensor, probs: Probs, dim: int = 0) -> torch.Tensor:
    """Sample quantiles along ``dim`` by linear interpolation between order statistics
    (numpy's default ``method="linear"``: position ``p * (N - 1)`` in the sorted draws).

    :param torch.Tensor input: draws; ``input.size(dim)`` is the number of draws.
    :param probs: a probability or a 1-d sequence of probabilities in [0, 1].
    :param int dim: the draw dimension.
    :returns: ``input`` with ``dim`` replaced by ``len(probs)`` (removed for scalar probs).
    :raises ValueError: for probabilities outside [0, 1].
    """
    input = _as_float(input)
    p = _probs_tensor(probs, input)
    dim = dim % input.dim()
    sorted_input = input.sort(dim).values
    last = input.size(dim) - 1
    pos = p.reshape(-1) * last
    lo = pos.floor().long().clamp(0, last)
    hi = (lo + 1).clamp(max=last)
    w_hi = (pos - lo.to(pos.dtype)).reshape((-1,) + (1,) * (input.dim() - dim - 1))
    q = sorted_input.index_select(dim, lo) * (1 - w_hi) + sorted_input.index_select(dim, hi) * w_hi
    return q.squeeze(dim) if p.dim() == 0 else q


def pi(input: torch.Tensor, prob: float, dim: int = 0) -> torch.Tensor:
    """Central (percentile) interval holding probability mass ``prob``: the quantiles at
    ``(1 - prob) / 2`` and ``(1 + prob) / 2``.

    :returns: ``input`` with ``dim`` replaced by 2 (lower, upper).
    """
    return quantile(input, [(1 - prob) / 2, (1 + prob) / 2], dim)


def hpdi(input: torch.Tensor, prob: float, dim: int = 0) -> torch.Tensor:
    """Highest posterior density interval: the narrowest interval between two draws that
    holds ``floor(prob * N)`` + 1 of the N draws (``prob`` of the mass, Hyndman 1996).

    :param torch.Tensor input: draws; ``input.size(dim)`` is the number of draws.
    :param float prob: probability mass in (0, 1].
    :param int dim: the draw dimension.
    :returns: ``input`` with ``dim`` replaced by 2 (lower, upper).
    :raises ValueError: if ``prob`` is not in (0, 1].

    **References** Hyndman (1996), The American Statistician 50(2).
    """
    if not 0 < prob <= 1:
        raise ValueError(f"hpdi: prob must be in (0, 1], got {prob}")
    input = _as_float(input)
    dim = dim % input.dim()
    n = input.size(dim)
    sorted_input = input.sort(dim).values
    span = min(int(prob * n), n - 1)  # index distance between the interval's ends
    starts = torch.arange(n - span, device=input.device)
    lower = sorted_input.index_select(dim, starts)
    upper = sorted_input.index_select(dim, starts + span)
    best = (upper - lower).argmin(dim, keepdim=True)
    return torch.cat([lower.gather(dim, best), upper.gather(dim, best)], dim)


# ---------------------------------------------------------------------------- WAIC


def waic(
    input: torch.Tensor,
    log_weights: torch.Tensor | None = None,
    pointwise: bool = False,
    dim: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Widely applicable information criterion (deviance scale) from log likelihoods.

    With draws ``s`` weighted by ``w_s`` (normalized; uniform when ``log_weights`` is
    None): ``lpd_i = log sum_s w_s p(y_i | theta_s)``, ``p_i`` = the weighted variance of
    ``log p(y_i | theta_s)`` over draws with the reliability-weights correction
    ``1 / (1 - sum w^2)`` (the unbiased sample variance for uniform weights), and
    ``waic_i = -2 (lpd_i - p_i)``.

    :param torch.Tensor input: log likelihoods; ``dim`` indexes draws, the other dims data.
    :param torch.Tensor log_weights: optional log weights of the draws, shape ``(N,)``.
    :param bool pointwise: return per-datum values instead of sums over the data.
    :param int dim: the draw dimension.
    :returns: ``(waic, p_waic)`` (effective number of parameters).

    **References** Watanabe (2010), JMLR 11; Vehtari, Gelman, Gabry (2017).
    """
    input = _as_float(input)
    dim = dim % input.dim()
    n = input.size(dim)
    if log_weights is None:
        log_weights = input.new_zeros(n)
    if log_weights.shape != (n,):
        raise ValueError(f"waic: log_weights must have shape ({n},) (one per draw along dim "
                         f"{dim}), got {tuple(log_weights.shape)}")
    log_w = log_weights - torch.logsumexp(log_weights, 0)
    log_w = log_w.reshape((n,) + (1,) * (input.dim() - dim - 1))
    lpd = torch.logsumexp(input + log_w, dim)
    w = log_w.exp()
    mean = (w * input).sum(dim, keepdim=True)
    correction = 1 - w.square().sum()
    p_waic = (w * (input - mean).square()).sum(dim) / correction
    elpd = lpd - p_waic
    value = -2 * elpd
    if pointwise:
        return value, p_waic
    return value.sum(), p_waic.sum()


# ------------------------------------------------------------------------ resampling


def resample(
    input: torch.Tensor, num_samples: int, dim: int = 0, replacement: bool = False
) -> torch.Tensor:
    """Draw ``num_samples`` entries of ``input`` along ``dim`` uniformly at random.

    :raises ValueError: if ``num_samples`` exceeds ``input.size(dim)`` without replacement.
    """
    n = input.size(dim)
    if not replacement and num_samples > n:
        raise ValueError(f"resample: cannot draw {num_samples} of {n} entries without "
                         f"replacement; pass replacement=True")
    weights = torch.ones(n, device=input.device)
    index = torch.multinomial(weights, num_samples, replacement=replacement)
    return input.index_select(dim, index)


# --------------------------------------------------------------------------- summary


def _safe(fn, x: torch.Tensor) -> torch.Tensor:
    try:
        return fn(x)
    except ValueError:  # too few draws for this statistic
        return x.new_full(x.shape[2:], float("nan"))


def summary(
    samples: dict[str, torch.Tensor], prob: float = 0.9, group_by_chain: bool = True
) -> dict[str, OrderedDict[str, torch.Tensor]]:
    """Per-site summary statistics of draws.

    For each site: ``mean``, ``std``, ``median``, the bounds of the ``prob`` highest
    posterior density interval (keys ``"5.0%"`` and ``"95.0%"`` for ``prob=0.9``),
    ``n_eff`` (:func:`effective_sample_size`) and ``r_hat`` (:func:`split_gelman_rubin`),
    each shaped like one draw of the site. Statistics needing more draws than available
    are NaN.

    :param dict samples: site name -> draws shaped ``(num_chains, num_samples) + shape``
        when ``group_by_chain`` else ``(num_samples,) + shape``.
    :param float prob: probability mass of the interval.
    :param bool group_by_chain: whether the draws have a leading chain dimension.
    :returns: site name -> ordered dict of statistic name -> tensor.
    """
    lower_key = f"{50 * (1 - prob):.1f}%"
    upper_key = f"{50 * (1 + prob):.1f}%"
    result = {}
    for name, value in samples.items():
        value = _as_float(value)
        if not group_by_chain:
            value = value.unsqueeze(0)
        if value.dim() < 2:
            raise ValueError(f"summary: draws of site {name!r} have shape "
                             f"{tuple(value.shape)}; expected (num_chains, num_samples, ...)")
        flat = value.reshape((-1,) + value.shape[2:])
        interval = hpdi(flat, prob, dim=0)
        stats = OrderedDict()
        stats["mean"] = flat.mean(0)
        stats["std"] = flat.std(0) if flat.size(0) > 1 else flat.new_full(flat.shape[1:], math.nan)
        stats["median"] = quantile(flat, 0.5, dim=0)
        stats[lower_key] = interval[0]
        stats[upper_key] = interval[1]
        stats["n_eff"] = _safe(effective_sample_size, value)
        stats["r_hat"] = _safe(split_gelman_rubin, value)
        result[name] = stats
    return result
