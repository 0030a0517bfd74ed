"""Hidden Markov models against algorithms written independently here: the forward
algorithm, brute force over latent paths, a Kalman filter, and the dense Gaussian of the
whole observed sequence."""

import itertools
import math

import pytest
import torch

import pyro.distributions as dist
from pyro.distributions.hmm import _affine_prefix_scan

D = torch.float64


def random_mvn(n, batch=()):
    A = torch.randn(batch + (n, n), dtype=D)
    cov = A @ A.mT + torch.eye(n, dtype=D)
    return dist.MultivariateNormal(torch.randn(batch + (n,), dtype=D), cov)


# ---------------------------------------------------------------------------------------
# Independent reference computations


def forward_algorithm(init_logits, trans_logits, obs_logp):
    """Rabiner's forward recursion, one step at a time, for one (unbatched) chain."""
    alpha = init_logits.log_softmax(-1)
    lt = trans_logits.log_softmax(-1)
    for t in range(obs_logp.size(0)):
        alpha = (alpha.unsqueeze(-1) + lt[t]).logsumexp(0) + obs_logp[t]
    return alpha  # log p(y_1..T, z_T)


def kalman(init, A, trans, H, obs, y, scale=None):
    """Kalman filter (row-vector form, one step at a time); returns (log likelihood, mean,
    covariance). With ``scale`` (shape ``(N,)``) every covariance is divided by it, giving
    ``N`` filters at once."""
    s = torch.ones((), dtype=D) if scale is None else scale[..., None, None]
    m, P = init.loc, init.covariance_matrix / s
    Q, R = trans.covariance_matrix, obs.covariance_matrix
    loglik = torch.zeros((), dtype=D)
    for t in range(y.size(0)):
        m = m @ A[t] + trans.loc[t]
        P = A[t].mT @ P @ A[t] + Q[t] / s
        yp = m @ H[t] + obs.loc[t]
        S = H[t].mT @ P @ H[t] + R[t] / s
        loglik = loglik + torch.distributions.MultivariateNormal(yp, S).log_prob(y[t])
        K = P @ H[t] @ torch.linalg.inv(S)
        m = m + ((y[t] - yp).unsqueeze(-2) @ K.mT).squeeze(-2)
        P = P - K @ S @ K.mT
    return loglik, m, P


def dense_observations(init, A, trans, H, obs):
    """The MultivariateNormal of the flattened sequence y_1..y_T: every state is a linear
    map of the independent noises (z_0, q_1..q_T, r_1..r_T)."""
    T, h = A.shape[0], A.shape[-1]
    o = H.shape[-1]
    n_noise = h + T * h + T * o
    means = [init.loc] + [trans.loc[t] for t in range(T)] + [obs.loc[t] for t in range(T)]
    covs = (
        [init.covariance_matrix]
        + [trans.covariance_matrix[t] for t in range(T)]
        + [obs.covariance_matrix[t] for t in range(T)]
    )
    mean_e = torch.cat(means)
    cov_e = torch.block_diag(*covs)
    L = torch.zeros(h, n_noise, dtype=D)
    L[:, :h] = torch.eye(h, dtype=D)
    rows = []
    for t in range(T):
        sel_q = torch.zeros(h, n_noise, dtype=D)
        sel_q[:, h + t * h : h + (t + 1) * h] = torch.eye(h, dtype=D)
        L = A[t].T @ L + sel_q
        sel_r = torch.zeros(o, n_noise, dtype=D)
        start = h + T * h + t * o
        sel_r[:, start : start + o] = torch.eye(o, dtype=D)
        rows.append(H[t].T @ L + sel_r)
    G = torch.cat(rows)
    return torch.distributions.MultivariateNormal(G @ mean_e, G @ cov_e @ G.T)


def random_gaussian_hmm(h, o, T, batch=()):
    init = random_mvn(h, batch)
    A = 0.6 * torch.randn(batch + (T, h, h), dtype=D)
    trans = random_mvn(h, batch + (T,))
    H = torch.randn(batch + (T, h, o), dtype=D)
    obs = random_mvn(o, batch + (T,))
    return init, A, trans, H, obs


# ---------------------------------------------------------------------------------------
# DiscreteHMM


@pytest.mark.parametrize("T", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("batch", [(), (3,)])
def test_discrete_hmm_matches_forward_algorithm(T, batch):
    S = 3
    init = torch.randn(batch + (S,), dtype=D)
    trans = torch.randn(batch + (T, S, S), dtype=D)
    obs = dist.Normal(
        torch.randn(batch + (T, S), dtype=D), torch.rand(batch + (T, S), dtype=D) + 0.5
    )
    d = dist.DiscreteHMM(init, trans, obs)
    assert d.batch_shape == batch and d.event_shape == (T,)
    y = torch.randn((2,) + batch + (T,), dtype=D)
    actual = d.log_prob(y)
    assert actual.shape == (2,) + batch
    obs_logp = obs.log_prob(y.unsqueeze(-1))  # (2,) + batch + (T, S)
    for i in range(2):
        for b in itertools.product(*map(range, batch)):
            alpha = forward_algorithm(init[b], trans[b], obs_logp[(i,) + b])
            torch.testing.assert_close(actual[(i,) + b], alpha.logsumexp(-1))
            posterior = d.filter(y[i])
            torch.testing.assert_close(posterior.logits[b], alpha.log_softmax(-1))


def test_discrete_hmm_brute_force_over_paths():
    S, T = 2, 3
    init = torch.randn(S, dtype=D)
    trans = torch.randn(T, S, S, dtype=D)
    probs = torch.rand(T, S, 4, dtype=D)
    obs = dist.Categorical(probs=probs)
    d = dist.DiscreteHMM(init, trans, obs)
    li, lt = init.log_softmax(-1), trans.log_softmax(-1)
    lo = probs.log() - probs.sum(-1, True).log()
    for y in itertools.product(range(4), repeat=T):
        terms = []
        for z in itertools.product(range(S), repeat=T + 1):
            lp = li[z[0]]
            for t in range(T):
                lp = lp + lt[t, z[t], z[t + 1]] + lo[t, z[t + 1], y[t]]
            terms.append(lp)
        torch.testing.assert_close(d.log_prob(torch.tensor(y)), torch.stack(terms).logsumexp(0))


def test_discrete_hmm_homogeneous_any_length_and_duration():
    S = 3
    init, trans = torch.randn(S, dtype=D), torch.randn(S, S, dtype=D)
    obs = dist.Normal(torch.randn(S, dtype=D), 1.0)
    d = dist.DiscreteHMM(init, trans, obs)
    assert d.event_shape == (1,) and d.duration is None
    for T in [1, 4, 7]:
        y = torch.randn(T, dtype=D)
        alpha = forward_algorithm(init, trans.expand(T, S, S), obs.log_prob(y.unsqueeze(-1)))
        torch.testing.assert_close(d.log_prob(y), alpha.logsumexp(-1))
    d = dist.DiscreteHMM(init, trans, obs, duration=6)
    assert d.event_shape == (6,) and d.sample((2,)).shape == (2, 6)


def test_discrete_hmm_sample_frequencies():
    S, T, K = 2, 3, 2
    init = torch.randn(S, dtype=D)
    trans = torch.randn(T, S, S, dtype=D)
    obs = dist.Categorical(logits=torch.randn(T, S, K, dtype=D) * 2)
    d = dist.DiscreteHMM(init, trans, obs)
    n = 20000
    y = d.sample((n,))
    assert y.shape == (n, T)
    codes = (y * torch.tensor([K * K, K, 1])).sum(-1)
    freq = torch.bincount(codes, minlength=K**T).to(D) / n
    seqs = torch.tensor(list(itertools.product(range(K), repeat=T)))
    p = d.log_prob(seqs).exp()
    torch.testing.assert_close(p.sum(), torch.ones((), dtype=D))
    assert ((freq - p).abs() <= 5 * (p * (1 - p) / n).sqrt() + 1e-3).all()


def test_discrete_hmm_batched_sample_and_expand():
    S = 2
    d = dist.DiscreteHMM(
        torch.randn(4, S), torch.randn(4, 5, S, S), dist.Normal(torch.randn(4, 5, S), 1.0)
    )
    assert d.sample((3,)).shape == (3, 4, 5)
    e = dist.DiscreteHMM(torch.randn(S), torch.randn(5, S, S), dist.Normal(torch.randn(5, S), 1.0))
    ex = e.expand((4,))
    assert ex.batch_shape == (4,) and ex.event_shape == (5,)
    y = torch.randn(4, 5)
    torch.testing.assert_close(ex.log_prob(y), e.log_prob(y))


def test_discrete_hmm_shape_errors():
    with pytest.raises(ValueError, match="state_dim"):
        dist.DiscreteHMM(torch.randn(3), torch.randn(4, 2, 2), dist.Normal(torch.zeros(4, 3), 1.0))
    with pytest.raises(ValueError, match="duration"):
        dist.DiscreteHMM(
            torch.randn(2), torch.randn(4, 2, 2), dist.Normal(torch.zeros(4, 2), 1.0), duration=3
        )


# ---------------------------------------------------------------------------------------
# GaussianHMM


@pytest.mark.parametrize("h,o,T", [(1, 1, 1), (2, 3, 4), (3, 2, 7)])
def test_gaussian_hmm_matches_kalman_and_dense(h, o, T):
    init, A, trans, H, obs = random_gaussian_hmm(h, o, T)
    d = dist.GaussianHMM(init, A, trans, H, obs)
    assert d.event_shape == (T, o) and d.has_rsample
    y = torch.randn(T, o, dtype=D)
    loglik, m, P = kalman(init, A, trans, H, obs, y)
    torch.testing.assert_close(d.log_prob(y), loglik)
    torch.testing.assert_close(
        d.log_prob(y), dense_observations(init, A, trans, H, obs).log_prob(y.reshape(-1))
    )
    post = d.filter(y)
    torch.testing.assert_close(post.loc, m)
    torch.testing.assert_close(post.covariance_matrix, P)


def test_gaussian_hmm_diagonal_observation_noise():
    h, o, T = 2, 3, 5
    init, A, trans, H, _ = random_gaussian_hmm(h, o, T)
    loc, scale = torch.randn(T, o, dtype=D), torch.rand(T, o, dtype=D) + 0.5
    d = dist.GaussianHMM(init, A, trans, H, dist.Normal(loc, scale).to_event(1))
    full = dist.MultivariateNormal(loc, torch.diag_embed(scale**2))
    y = torch.randn(T, o, dtype=D)
    torch.testing.assert_close(d.log_prob(y), kalman(init, A, trans, H, full, y)[0])


def test_gaussian_hmm_batched_broadcasting():
    h, o, T = 2, 1, 4
    init = random_mvn(h, (3,))
    A = 0.5 * torch.randn(T, h, h, dtype=D)  # shared by the batch
    trans = random_mvn(h, (3, T))
    H = torch.randn(T, h, o, dtype=D)
    obs = random_mvn(o)  # homogeneous noise, broadcast over batch and time
    d = dist.GaussianHMM(init, A, trans, H, obs)
    assert d.batch_shape == (3,) and d.event_shape == (T, o)
    y = torch.randn(2, 3, T, o, dtype=D)
    lp = d.log_prob(y)
    assert lp.shape == (2, 3)
    obs_t = dist.MultivariateNormal(obs.loc.expand(T, o), obs.covariance_matrix.expand(T, o, o))
    for i, b in itertools.product(range(2), range(3)):
        tr = dist.MultivariateNormal(trans.loc[b], trans.covariance_matrix[b])
        ini = dist.MultivariateNormal(init.loc[b], init.covariance_matrix[b])
        torch.testing.assert_close(lp[i, b], kalman(ini, A, tr, H, obs_t, y[i, b])[0])
    assert d.rsample((5,)).shape == (5, 3, T, o)
    assert d.expand((2, 3)).log_prob(y).shape == (2, 3)


def test_gaussian_hmm_homogeneous_any_length():
    h, o = 2, 2
    init, A, trans, H, obs = random_gaussian_hmm(h, o, 1)
    d = dist.GaussianHMM(init, A[0], random_mvn(h), H[0], random_mvn(o))
    assert d.event_shape == (1, o) and d.duration is None
    for T in [1, 3, 6]:
        y = torch.randn(T, o, dtype=D)
        rep = (
            init,
            A[0].expand(T, h, h),
            dist.MultivariateNormal(
                d.transition_dist.loc.expand(T, h),
                d.transition_dist.covariance_matrix.expand(T, h, h),
            ),
            H[0].expand(T, h, o),
            dist.MultivariateNormal(
                d.observation_dist.loc.expand(T, o),
                d.observation_dist.covariance_matrix.expand(T, o, o),
            ),
        )
        torch.testing.assert_close(d.log_prob(y), kalman(*rep, y)[0])
    assert dist.GaussianHMM(*d_args(d), duration=6).rsample((2,)).shape == (2, 6, o)


def d_args(d):
    return (
        d.initial_dist,
        d.transition_matrix,
        d.transition_dist,
        d.observation_matrix,
        d.observation_dist,
    )


def test_gaussian_hmm_rsample_moments():
    h, o, T = 2, 1, 3
    args = random_gaussian_hmm(h, o, T)
    d = dist.GaussianHMM(*args)
    dense = dense_observations(*args)
    n = 40000
    y = d.rsample((n,)).reshape(n, T * o)
    sd = dense.covariance_matrix.diagonal().sqrt()
    assert ((y.mean(0) - dense.loc).abs() < 5 * sd / math.sqrt(n)).all()
    corr_err = (y.T.cov() - dense.covariance_matrix) / (sd[:, None] * sd[None])
    assert corr_err.abs().max() < 5 * math.sqrt(2 / n)


def test_gaussian_hmm_rsample_is_differentiable():
    h, o, T = 2, 2, 4
    init, A, trans, H, obs = random_gaussian_hmm(h, o, T)
    A.requires_grad_(True)
    d = dist.GaussianHMM(init, A, trans, H, obs)
    d.rsample((3,)).sum().backward()
    assert A.grad is not None and torch.isfinite(A.grad).all()


def test_gaussian_hmm_rsample_posterior_mean():
    h, o, T = 2, 1, 3
    init, A, trans, H, obs = random_gaussian_hmm(h, o, T)
    d = dist.GaussianHMM(init, A, trans, H, obs)
    y = torch.randn(T, o, dtype=D)
    n = 20000
    z = d.rsample_posterior(y, (n,))
    assert z.shape == (n, T, h)
    # The last state's posterior is the Kalman filter's.
    _, m, P = kalman(init, A, trans, H, obs, y)
    se = (P.diagonal() / n).sqrt()
    assert ((z[:, -1].mean(0) - m).abs() < 5 * se).all()


def test_gaussian_hmm_conjugate_update():
    h, o, T = 2, 3, 4
    d = dist.GaussianHMM(*random_gaussian_hmm(h, o, T))
    other = random_mvn(o, (T,)).to_event(1)
    updated, log_normalizer = d.conjugate_update(other)
    assert updated.event_shape == (T, o) and log_normalizer.shape == ()
    for _ in range(3):
        y = torch.randn(T, o, dtype=D)
        torch.testing.assert_close(
            updated.log_prob(y) + log_normalizer, d.log_prob(y) + other.log_prob(y)
        )
    assert updated.rsample((2,)).shape == (2, T, o)


def test_gaussian_hmm_prefix_condition():
    h, o, T, t = 2, 2, 5, 2
    init, A, trans, H, obs = random_gaussian_hmm(h, o, T)
    d = dist.GaussianHMM(init, A, trans, H, obs)
    head = dist.GaussianHMM(
        init,
        A[:t],
        dist.MultivariateNormal(trans.loc[:t], trans.covariance_matrix[:t]),
        H[:t],
        dist.MultivariateNormal(obs.loc[:t], obs.covariance_matrix[:t]),
    )
    y = torch.randn(T, o, dtype=D)
    tail = d.prefix_condition(y[:t])
    assert tail.event_shape == (T - t, o)
    torch.testing.assert_close(tail.log_prob(y[t:]), d.log_prob(y) - head.log_prob(y[:t]))
    assert tail.rsample((3,)).shape == (3, T - t, o)


def test_gaussian_hmm_shape_errors():
    init, A, trans, H, obs = random_gaussian_hmm(2, 3, 4)
    with pytest.raises(ValueError, match="observation_matrix"):
        dist.GaussianHMM(init, A, trans, H.mT, obs)
    with pytest.raises(ValueError, match="MultivariateNormal"):
        dist.GaussianHMM(init, A, trans, H, dist.StudentT(3.0, torch.zeros(4, 3)).to_event(1))
    d = dist.GaussianHMM(init, A, trans, H, obs)
    with pytest.raises(ValueError, match="observation shape"):
        d.log_prob(torch.randn(4, 2, dtype=D))


# ---------------------------------------------------------------------------------------
# GammaGaussianHMM


def test_gamma_gaussian_hmm_by_quadrature_over_scale():
    h, o, T = 2, 2, 3
    init, A, trans, H, obs = random_gaussian_hmm(h, o, T)
    scale_dist = dist.Gamma(torch.tensor(3.0, dtype=D), torch.tensor(2.0, dtype=D))
    d = dist.GammaGaussianHMM(scale_dist, init, A, trans, H, obs)
    assert d.event_shape == (T, o)
    y = torch.randn(T, o, dtype=D)
    s = torch.linspace(1e-4, 15.0, 6001, dtype=D)

    lik = kalman(init, A, trans, H, obs, y, scale=s)[0]
    dense = torch.trapezoid((lik + scale_dist.log_prob(s)).exp(), s).log()
    torch.testing.assert_close(d.log_prob(y), dense, rtol=1e-6, atol=1e-6)
    # Filter: s | y is Gamma(a + T*o/2, .), and z_T | s, y the Kalman posterior scaled by s.
    gamma, mvn = d.filter(y)
    _, m, P = kalman(init, A, trans, H, obs, y)
    torch.testing.assert_close(gamma.concentration, torch.tensor(3.0 + T * o / 2, dtype=D))
    torch.testing.assert_close(mvn.loc, m)
    torch.testing.assert_close(mvn.covariance_matrix, P)
    post = (lik + scale_dist.log_prob(s)).exp()
    post_mean = torch.trapezoid(post * s, s) / torch.trapezoid(post, s)
    torch.testing.assert_close(gamma.mean, post_mean, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------
# LinearHMM, IndependentHMM, GaussianMRF


def test_affine_prefix_scan_matches_loop():
    T, h = 7, 3
    A = torch.randn(2, T, h, h, dtype=D)
    b = torch.randn(2, T, h, dtype=D)
    z = _affine_prefix_scan(A, b)
    expected = [b[:, 0]]
    for t in range(1, T):
        expected.append((expected[-1].unsqueeze(-2) @ A[:, t]).squeeze(-2) + b[:, t])
    torch.testing.assert_close(z, torch.stack(expected, 1))


def test_linear_hmm_gaussian_case_is_gaussian_hmm():
    h, o, T = 2, 1, 3
    args = random_gaussian_hmm(h, o, T)
    d = dist.LinearHMM(*args)
    y = torch.randn(T, o, dtype=D)
    torch.testing.assert_close(d.log_prob(y), dist.GaussianHMM(*args).log_prob(y))
    dense = dense_observations(*args)
    n = 40000
    x = d.rsample((n,)).reshape(n, T * o)
    sd = dense.covariance_matrix.diagonal().sqrt()
    assert ((x.mean(0) - dense.loc).abs() < 5 * sd / math.sqrt(n)).all()
    corr_err = (x.T.cov() - dense.covariance_matrix) / (sd[:, None] * sd[None])
    assert corr_err.abs().max() < 5 * math.sqrt(2 / n)


def test_linear_hmm_heavy_tailed_and_transformed():
    h, o, T = 2, 3, 5
    init = dist.Normal(torch.zeros(h), 1.0).to_event(1)
    A = torch.randn(T, h, h) * 0.5
    trans = dist.StudentT(3.0, torch.zeros(T, h), 1.0).to_event(1)
    H = torch.randn(T, h, o)
    base = dist.Normal(torch.zeros(T, o), 1.0)
    obs = dist.TransformedDistribution(base, [dist.transforms.ExpTransform()]).to_event(1)
    d = dist.LinearHMM(init, A, trans, H, obs)
    assert d.batch_shape == () and d.event_shape == (T, o) and d.has_rsample
    # as in Pyro: the base noise and the observation transforms are kept apart
    assert d.observation_dist.event_shape == (o,) and len(d.transforms) == 1
    x = d.rsample((4,))
    assert x.shape == (4, T, o) and (x > 0).all()
    assert d.support.check(x).all()
    with pytest.raises(NotImplementedError, match="LinearHMMReparam"):
        d.log_prob(x[0])
    assert d.expand((2,)).rsample().shape == (2, T, o)


def test_independent_hmm():
    o, T = 3, 4
    base = dist.GaussianHMM(
        random_mvn(1, (o,)),
        torch.randn(o, T, 1, 1, dtype=D),
        random_mvn(1, (o, T)),
        torch.randn(o, T, 1, 1, dtype=D),
        random_mvn(1, (o, T)),
    )
    d = dist.IndependentHMM(base)
    assert d.batch_shape == () and d.event_shape == (T, o) and d.duration == T
    y = torch.randn(2, T, o, dtype=D)
    expected = base.log_prob(y.transpose(-1, -2).unsqueeze(-1)).sum(-1)
    torch.testing.assert_close(d.log_prob(y), expected)
    assert d.rsample((5,)).shape == (5, T, o)
    assert d.expand((2,)).batch_shape == (2,)


def test_gaussian_mrf_matches_dense_gaussian():
    h, o, T = 2, 1, 3
    init = random_mvn(h)
    trans = random_mvn(2 * h, (T,))
    obs = random_mvn(h + o, (T,))
    d = dist.GaussianMRF(init, trans, obs)
    assert d.event_shape == (T, o)
    # Dense joint precision over (z_0..z_T, x_1..x_T) = the sum of the factors' precisions.
    nz = h * (T + 1)
    n = nz + o * T
    P = torch.zeros(n, n, dtype=D)
    eta = torch.zeros(n, dtype=D)

    def add(mvn, idx):
        idx = torch.tensor(idx)
        Pf = mvn.precision_matrix
        P[idx[:, None], idx[None]] += Pf
        eta[idx] += Pf @ mvn.loc

    add(init, list(range(h)))
    for t in range(T):
        add(
            dist.MultivariateNormal(trans.loc[t], trans.covariance_matrix[t]),
            list(range(h * t, h * (t + 2))),
        )
        zx = list(range(h * (t + 1), h * (t + 2))) + list(range(nz + o * t, nz + o * (t + 1)))
        add(dist.MultivariateNormal(obs.loc[t], obs.covariance_matrix[t]), zx)
    cov = torch.linalg.inv(P)
    mean = cov @ eta
    marginal = dist.MultivariateNormal(mean[nz:], cov[nz:, nz:])
    y = torch.randn(T, o, dtype=D)
    torch.testing.assert_close(d.log_prob(y), marginal.log_prob(y.reshape(-1)))
    assert d.expand((2,)).log_prob(y).shape == (2,)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda():
    dev = torch.device("cuda")
    h, o, T = 2, 2, 5
    init, A, trans, H, obs = (
        dist.MultivariateNormal(torch.zeros(h, device=dev), torch.eye(h, device=dev)),
        torch.eye(h, device=dev).expand(T, h, h) * 0.5,
        dist.MultivariateNormal(torch.zeros(T, h, device=dev), torch.eye(h, device=dev)),
        torch.ones(T, h, o, device=dev),
        dist.MultivariateNormal(torch.zeros(T, o, device=dev), torch.eye(o, device=dev)),
    )
    d = dist.GaussianHMM(init, A, trans, H, obs)
    y = d.rsample((3,))
    assert y.device.type == "cuda" and d.log_prob(y).device.type == "cuda"
    assert d.filter(y[0]).loc.device.type == "cuda"
    disc = dist.DiscreteHMM(
        torch.zeros(3, device=dev),
        torch.zeros(T, 3, 3, device=dev),
        dist.Normal(torch.zeros(T, 3, device=dev), 1.0),
    )
    x = disc.sample((2,))
    assert x.device.type == "cuda" and disc.log_prob(x).device.type == "cuda"
    lin = dist.LinearHMM(init, A, trans, H, obs)
    assert lin.rsample().device.type == "cuda"


def test_hmms_in_a_plate_are_expanded():
    import pyro
    import pyro.poutine as poutine

    h, o, T = 2, 1, 4
    args = random_gaussian_hmm(h, o, T)
    y = torch.randn(3, T, o, dtype=D)
    seq = torch.randn(3, T, dtype=D)

    def model():
        with pyro.plate("series", 3):
            pyro.sample("gauss", dist.GaussianHMM(*args), obs=y)
            disc = dist.DiscreteHMM(
                torch.zeros(2, dtype=D),
                torch.zeros(T, 2, 2, dtype=D),
                dist.Normal(torch.randn(T, 2, dtype=D), 1.0),
            )
            pyro.sample("disc", disc, obs=seq)

    tr = poutine.trace(model).get_trace()
    tr.compute_log_prob()
    assert tr.nodes["gauss"]["fn"].batch_shape == (3,)
    torch.testing.assert_close(tr.nodes["gauss"]["log_prob"], dist.GaussianHMM(*args).log_prob(y))
    assert tr.nodes["disc"]["log_prob"].shape == (3,)


def test_gaussian_mrf_homogeneous_any_length():
    h, o, T = 2, 1, 4
    init, trans, obs = random_mvn(h), random_mvn(2 * h), random_mvn(h + o)
    d = dist.GaussianMRF(init, trans, obs)
    assert d.event_shape == (1, o)
    y = torch.randn(T, o, dtype=D)  # validation accepts any number of steps
    full = dist.GaussianMRF(init, trans.expand((T,)), obs.expand((T,)))
    torch.testing.assert_close(d.log_prob(y), full.log_prob(y))
    with pytest.raises(ValueError, match="time steps"):
        full.log_prob(torch.randn(T + 1, o, dtype=D))
