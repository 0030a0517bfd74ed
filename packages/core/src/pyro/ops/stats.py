"""Statistics of Monte Carlo draws: autocorrelation, effective sample size, R-hat,
credible intervals, (weighted) quantiles, WAIC, resampling and per-site summaries; the
scoring rules CRPS and energy score of sampled forecasts; and the generalized Pareto fit
behind Pareto smoothed importance sampling.

Every function takes torch tensors and returns tensors of the same dtype and device;
this module depends on torch only.

Conventions. Functions over several chains take ``input`` with a chain dimension
(``chain_dim``, default 0) and a draw dimension (``sample_dim``, default 1); every other
dimension is a batch of independent scalar quantities, e.g. draws of a site shaped
``(num_chains, num_samples) + site_shape`` give results shaped ``site_shape``.

Which effective sample size. :func:`effective_sample_size` is Geyer's initial monotone
sequence estimator on the raw draws (the estimator Pyro reports as ``n_eff``, with the
multi-chain variance of Gelman et al., BDA3 section 11.5). Its autocovariances are the biased
(``1/N``) ones Stan uses; pyro-ppl 1.9 divides lag ``k`` by ``N - k``, so on the same short chains
its ``n_eff`` differs by a few percent. :func:`bulk_effective_sample_size`
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
from collections.abc import Callable, Sequence

import torch

from .tensor_utils import next_fast_len

__all__ = [
    "autocorrelation",
    "autocovariance",
    "bulk_effective_sample_size",
    "crps_empirical",
    "effective_sample_size",
    "energy_score_empirical",
    "fit_generalized_pareto",
    "gelman_rubin",
    "hpdi",
    "pi",
    "quantile",
    "resample",
    "split_gelman_rubin",
    "summary",
    "waic",
    "weighed_quantile",
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
    m = next_fast_len(2 * n)
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


def weighed_quantile(
    input: torch.Tensor, probs: Probs, log_weights: torch.Tensor, dim: int = 0
) -> torch.Tensor:
    """Quantiles of weighted draws (e.g. importance samples) along ``dim``.

    The draws are sorted; with normalized weights ``w`` in that order and cumulative sums
    ``c``, the sorted draw ``i`` sits at position ``(c_i - c_0) / (c_last - c_0)`` and
    quantiles interpolate linearly between positions. With equal weights this is
    :func:`quantile` (numpy's linear method).

    Example::

        >>> input = torch.tensor([[10.0, 50.0, 40.0], [20.0, 30.0, 0.0]])
        >>> log_weights = torch.tensor([0.4, 0.5, 0.1]).log()
        >>> weighed_quantile(input, torch.tensor([0.2, 0.8]), log_weights, -1)
        tensor([[40.4000, 47.6000],
                [ 9.0000, 26.4000]])

    :param torch.Tensor input: draws; ``input.size(dim)`` is the number of draws.
    :param probs: a probability or a 1-d sequence of probabilities in [0, 1].
    :param torch.Tensor log_weights: unnormalized log weights, of shape
        ``(input.size(dim),)`` or of ``input``'s shape.
    :param int dim: the draw dimension.
    :returns: ``input`` with ``dim`` replaced by ``len(probs)`` (removed for scalar probs).
    :raises ValueError: for probabilities outside [0, 1] or mismatched weights.
    """
    input = _as_float(input)
    p = _probs_tensor(probs, input)
    dim = dim % input.dim()
    n = input.size(dim)
    log_weights = torch.as_tensor(log_weights, dtype=input.dtype, device=input.device)
    if log_weights.dim() == 1:
        if log_weights.size(0) != n:
            raise ValueError(f"weighed_quantile: {log_weights.size(0)} log_weights for {n} "
                             f"draws along dim {dim}")
        log_weights = log_weights.reshape((n,) + (1,) * (input.dim() - dim - 1))
    log_weights = log_weights.expand_as(input)
    sorted_input, order = input.sort(dim)
    weights = log_weights.gather(dim, order).softmax(dim)
    cum = weights.cumsum(dim)
    first, last = cum.narrow(dim, 0, 1), cum.narrow(dim, n - 1, 1)
    position = (cum - first) / (last - first).clamp(min=torch.finfo(input.dtype).tiny)
    # move dim last to search the positions of each batch element
    position = position.movedim(dim, -1).contiguous()
    sorted_input = sorted_input.movedim(dim, -1)
    target = p.reshape(-1).expand(position.shape[:-1] + (p.numel(),)).contiguous()
    hi = torch.searchsorted(position, target).clamp(1, max(n - 1, 1)) if n > 1 else None
    if hi is None:
        q = sorted_input.expand(target.shape)
    else:
        lo = hi - 1
        x_lo, x_hi = sorted_input.gather(-1, lo), sorted_input.gather(-1, hi)
        p_lo, p_hi = position.gather(-1, lo), position.gather(-1, hi)
        frac = ((target - p_lo) / (p_hi - p_lo).clamp(min=torch.finfo(input.dtype).tiny))
        q = x_lo + frac.clamp(0, 1) * (x_hi - x_lo)
    q = q.movedim(-1, dim)
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


# --------------------------------------------------------------------- scoring rules


def crps_empirical(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Continuous Ranked Probability Score (in its negatively oriented form: lower is
    better) of the empirical distribution of samples ``pred`` at observations ``truth``:

    .. math:: \\mathrm{CRPS} = E|X - y| - \\tfrac12 E|X - X'|

    (both expectations over the ``n`` samples, the second over all ``n^2`` pairs). It
    equals :math:`\\int (F_n(z) - 1[z \\ge y])^2 dz` for the empirical CDF :math:`F_n`,
    and reduces to the absolute error for one sample. The pair term is computed from the
    sorted samples, :math:`E|X - X'| = \\frac{2}{n^2}\\sum_i (2i - n - 1) x_{(i)}`, in
    ``O(n log n)`` instead of ``O(n^2)``.

    **References**

    [1] T. Gneiting, A. E. Raftery (2007), "Strictly Proper Scoring Rules, Prediction, and
        Estimation", Journal of the American Statistical Association 102(477).

    :param torch.Tensor pred: samples of shape ``(num_samples,) + truth.shape``.
    :param torch.Tensor truth: observations.
    :returns: a tensor of shape ``truth.shape``.
    :raises ValueError: if ``pred.shape[1:]`` does not equal ``truth.shape``.
    """
    if pred.shape[1:] != truth.shape:
        raise ValueError(f"crps_empirical: expected pred of shape (num_samples,) + "
                         f"{tuple(truth.shape)}, got {tuple(pred.shape)}")
    n = pred.size(0)
    absolute_error = (pred - truth).abs().mean(0)
    if n == 1:
        return absolute_error
    sorted_pred = pred.sort(0).values
    rank_weight = torch.arange(1 - n, n, 2, dtype=pred.dtype, device=pred.device)
    rank_weight = rank_weight.reshape((n,) + (1,) * truth.dim())
    half_pair_term = (rank_weight * sorted_pred).sum(0) / n**2
    return absolute_error - half_pair_term


def energy_score_empirical(
    pred: torch.Tensor,
    truth: torch.Tensor,
    pred_batch_size: int | None = None,
    cdist: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = torch.cdist,
) -> torch.Tensor:
    """Energy score (negatively oriented) of multivariate samples ``pred`` at a true
    vector ``truth``, the multivariate generalization of :func:`crps_empirical` (equation
    22 of [1]):

    .. math:: \\mathrm{ES} = E\\|X - y\\| - \\tfrac12 E\\|X - X'\\|

    with Euclidean norms over ``n`` samples (``n^2`` pairs; time quadratic in ``n``). It
    is strictly proper: it is minimized in expectation only by the true multivariate
    distribution (matching marginals is not enough). For one sample it is the Euclidean
    distance; for ``D = 1`` it is the CRPS.

    **References**

    [1] T. Gneiting, A. E. Raftery (2007), "Strictly Proper Scoring Rules, Prediction, and
        Estimation", Journal of the American Statistical Association 102(477).

    :param torch.Tensor pred: samples of shape ``batch_shape + (num_samples, D)``.
    :param torch.Tensor truth: true vectors of shape ``batch_shape + (D,)`` or
        ``batch_shape + (k, D)`` (``k`` observations scored against the same samples).
    :param int pred_batch_size: if given, the ``n x n`` pair distances are computed in
        chunks of this many samples to bound memory.
    :param callable cdist: the pairwise Euclidean distance ``(..., P, D), (..., R, D) ->
        (..., P, R)`` (default :func:`torch.cdist`; pass an exact but slower one when its
        matrix-multiplication shortcut loses precision).
    :returns: a tensor of shape ``batch_shape`` (or ``batch_shape + (k,)``).
    :raises ValueError: for mismatched shapes or a nonpositive ``pred_batch_size``.
    """
    if pred.dim() < 2:
        raise ValueError(f"energy_score_empirical: pred must have shape (..., num_samples, D), "
                         f"got {tuple(pred.shape)}")
    squeeze = truth.dim() == pred.dim() - 1
    if squeeze:
        truth = truth.unsqueeze(-2)
    if truth.dim() != pred.dim() or truth.size(-1) != pred.size(-1):
        raise ValueError(f"energy_score_empirical: truth of shape {tuple(truth.shape)} does "
                         f"not match pred of shape {tuple(pred.shape)}")
    if pred_batch_size is not None and pred_batch_size < 1:
        raise ValueError(f"energy_score_empirical: pred_batch_size must be >= 1, got "
                         f"{pred_batch_size}")
    n = pred.size(-2)
    error_term = cdist(pred, truth).mean(-2)
    chunks = pred.split(pred_batch_size or n, dim=-2)
    pair_sum = torch.stack([cdist(chunk, pred).sum((-2, -1)) for chunk in chunks]).sum(0)
    result = error_term - 0.5 * (pair_sum / n**2).unsqueeze(-1)
    return result.squeeze(-1) if squeeze else result


# --------------------------------------------------------------- generalized Pareto


def fit_generalized_pareto(X: torch.Tensor) -> tuple[float, float]:
    """Estimate the shape ``k`` and scale ``sigma`` of a generalized Pareto distribution
    (density :math:`\\sigma^{-1}(1 + k x / \\sigma)^{-1 - 1/k}` for ``x >= 0``) from
    draws ``X``, by the empirical Bayes method of Zhang and Stephens [1] with the weakly
    informative prior on ``k`` used by Pareto smoothed importance sampling [2] (which
    shrinks ``k`` toward 0.5 by ``10 / (n + 10)``).

    This is how PSIS diagnoses importance weights: ``k > 0.7`` flags unreliable ones.

    **References**

    [1] J. Zhang, M. A. Stephens (2009), "A new and efficient estimation method for the
        generalized Pareto distribution", Technometrics 51(3).
    [2] A. Vehtari, D. Simpson, A. Gelman, Y. Yao, J. Gabry (2015-2024), "Pareto Smoothed
        Importance Sampling", arXiv:1507.02646.

    :param torch.Tensor X: a 1-d tensor of nonnegative draws (exceedances over a
        threshold), at least 2 of them, not all equal.
    :returns: a pair of floats ``(k, sigma)``.
    :raises ValueError: for data that is not 1-d, too short, or negative.
    """
    X = torch.as_tensor(X)
    if X.dim() != 1 or X.numel() < 2:
        raise ValueError(f"fit_generalized_pareto: expected a 1-d tensor of at least 2 draws, "
                         f"got shape {tuple(X.shape)}")
    if (X < 0).any():
        raise ValueError("fit_generalized_pareto: the draws must be nonnegative exceedances")
    X = X.double().sort().values
    n = X.numel()
    m = 30 + int(math.sqrt(n))
    prior = 3.0
    j = torch.arange(1, m + 1, dtype=X.dtype, device=X.device)
    quartile = X[int(n / 4 + 0.5) - 1]
    # candidate values of theta = -k / sigma, spread around the inverse scale of the data
    theta = 1 / X[-1] + (1 - (m / (j - 0.5)).sqrt()) / (prior * quartile)
    k = torch.log1p(-theta[:, None] * X).mean(-1)
    profile_loglik = n * ((-theta / k).log() - k - 1)
    weights = profile_loglik.softmax(0)  # posterior weights of the candidates
    theta_hat = (weights * theta).sum()
    k_hat = torch.log1p(-theta_hat * X).mean()
    sigma = (-k_hat / theta_hat).item()
    k_hat = (k_hat * n + 10 * 0.5) / (n + 10)
    return k_hat.item(), sigma
