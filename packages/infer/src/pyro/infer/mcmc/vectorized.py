"""``chain_method="vectorized"``: all chains of HMC or NUTS advance in lockstep as one batch.

The model runs once per leapfrog step for every chain at once: each latent value gets a
leading chain dimension placed left of the model's plate dimensions (at dim
``-(max_plate_nesting + 1)`` of its batch shape), so a model written with ``pyro.plate``
for every batch dimension broadcasts over chains unchanged. Log densities are summed per
chain, and the gradient of their total gives every chain its own gradient.

NUTS runs the same doubling recursion for every chain (each with its own directions,
step size, mass matrix and random draws); a chain whose trajectory has stopped is masked
out while the others keep growing theirs, so one transition costs the longest trajectory
of the batch. Each chain adapts its own step size and mass matrix.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from .adaptation import WarmupAdapter
from .hmc import HMC
from .nuts import NUTS
from .potential import _FlatLayout, _LogJointMessenger, _value_and_grad
from .progress import make_progress_bar, set_description, set_postfix
from .util import _constrained_to_unconstrained, setup_potential

__all__ = ["BatchedModelPotential", "run_vectorized_chains"]


class _BatchedLogJointMessenger(_LogJointMessenger):
    """Substitutes chain-batched latent values; sums log densities per chain."""

    def __init__(self, max_plate_nesting: int) -> None:
        super().__init__()
        self.max_plate_nesting = max_plate_nesting

    def _reduce(self, msg, log_prob: torch.Tensor) -> torch.Tensor:
        scale = msg["scale"]
        if isinstance(scale, torch.Tensor) or scale != 1.0:
            log_prob = log_prob * scale
        extra = log_prob.dim() - self.max_plate_nesting
        if extra > 1:
            raise ValueError(
                f"chain_method='vectorized': the log density of site {msg['name']!r} has "
                f"shape {tuple(log_prob.shape)}, more batch dims than max_plate_nesting="
                f"{self.max_plate_nesting} plus the chain dim; declare every batch dim with "
                f"pyro.plate (or .to_event()), or pass a larger max_plate_nesting")
        if extra == 1:
            return log_prob.reshape(log_prob.size(0), -1).sum(-1)
        return log_prob.sum()


class BatchedModelPotential(_FlatLayout):
    """Potential energies of ``num_chains`` points at once: ``z`` shaped ``(C, D)`` ->
    ``(energies (C,), gradients (C, D))``.

    :param list sites: the layout (:class:`~pyro.infer.mcmc.potential.LatentSite`).
    :param list batch_dims: ``len(fn.batch_shape)`` of each latent site.
    :param int max_plate_nesting: number of batch dims the model uses (plates).
    """

    def __init__(self, model, model_args, model_kwargs, sites, batch_dims,
                 max_plate_nesting: int) -> None:
        super().__init__(sites)
        self.model = model
        self.model_args = tuple(model_args)
        self.model_kwargs = dict(model_kwargs)
        self.max_plate_nesting = max_plate_nesting
        self._plan = [(s.name, s.unconstrained_shape, s.shape, s.transform,
                       (1,) * (max_plate_nesting - nb)) for s, nb in zip(self.sites, batch_dims)]
        self._messenger = _BatchedLogJointMessenger(max_plate_nesting)

    def potential(self, z: torch.Tensor) -> torch.Tensor:
        c = z.size(0)
        values = {}
        log_det = None
        for (name, ushape, shape, t, pad), u in zip(self._plan, z.split(self.sizes, dim=-1)):
            u = u.reshape((c,) + ushape)
            if t is None:
                x = u
            else:
                x = t(u)
                ld = t.log_abs_det_jacobian(u, x).reshape(c, -1).sum(-1)
                log_det = ld if log_det is None else log_det + ld
            values[name] = x.reshape((c,) + pad + shape)
        log_joint = self._messenger.log_joint_of(self.model, self.model_args,
                                                 self.model_kwargs, values)
        if log_joint is None:
            log_joint = z.new_zeros(c)
        pe = -log_joint if log_det is None else -(log_joint + log_det)
        return pe.expand(c) if pe.dim() < 1 or pe.size(0) != c else pe

    def __call__(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pe, grad = _value_and_grad(self.potential, z)
        return pe.detach(), grad


class VmapModelPotential:
    """Potential energies of ``C`` points through ``torch.func.vmap``: the model runs on
    unbatched shapes, so any model without data-dependent Python control flow works, at
    roughly twice the cost of one unbatched evaluation."""

    def __init__(self, single) -> None:
        from torch.func import grad_and_value, vmap

        self.single = single
        self.sites = single.sites
        self.unpack = single.unpack
        self._fn = vmap(grad_and_value(single._eager_potential))

    def __call__(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        grad, pe = self._fn(z.detach())
        return pe.detach(), grad.detach()


def _agrees(batched, single, z: torch.Tensor) -> bool:
    """Whether ``batched(z)`` matches ``single`` evaluated chain by chain."""
    try:
        pe, grad = batched(z)
    except Exception:  # a model that does not broadcast over chains
        return False
    if pe.shape != z.shape[:1] or grad.shape != z.shape:
        return False
    for c in range(z.size(0)):
        pe_c, grad_c = single(z[c])
        scale = max(abs(pe_c), 1.0)
        if not abs(float(pe[c]) - pe_c) <= 1e-4 * scale:
            return False
        gscale = float(grad_c.abs().max()) if grad_c.numel() else 0.0
        if not torch.allclose(grad[c], grad_c, rtol=1e-3, atol=1e-4 * max(gscale, 1.0)):
            return False
    return True


def choose_batched_potential(model, args, kwargs, single, trace, max_plate_nesting, z0):
    """The cheapest batched potential that reproduces the per-chain one at perturbed
    starting points: plate-dim broadcasting first, then ``torch.func.vmap``.

    :raises ValueError: if neither reproduces the model's potential (e.g. Python control
        flow on latent values).
    """
    mpn = max(_max_batch_dims(trace), max_plate_nesting or 0)
    batch_dims = [len(trace.nodes[s.name]["fn"].batch_shape) for s in single.sites]
    check = z0 + 0.01 * torch.randn_like(z0)
    candidates = [lambda: BatchedModelPotential(model, args, kwargs, single.sites, batch_dims,
                                                mpn),
                  lambda: VmapModelPotential(single)]
    for make in candidates:
        try:
            batched = make()
        except Exception:
            continue
        if _agrees(batched, single, check):
            return batched
    raise ValueError(
        "chain_method='vectorized': the model could not be evaluated for all chains at once "
        "(neither by broadcasting latent values over a leading chain dim nor with "
        "torch.func.vmap reproduces its log density; Python control flow on latent "
        "values prevents both). Use chain_method='sequential' or 'parallel'.")


class _BatchedMetric:
    """Per-chain inverse mass matrices: ``(C, D)`` (diagonal) or ``(C, D, D)``."""

    def __init__(self, inverse_mass_matrices: list[torch.Tensor]) -> None:
        inv = torch.stack([m.detach() for m in inverse_mass_matrices])
        self.dense = inv.dim() == 3
        self.inv = inv
        if self.dense:
            chol, info = torch.linalg.cholesky_ex(inv)
            if bool((info != 0).any()):
                raise ValueError("an adapted inverse mass matrix is not positive definite; "
                                 "use full_mass=False or more warmup steps")
            eye = torch.eye(inv.size(-1), dtype=inv.dtype, device=inv.device).expand_as(inv)
            self.mass_sqrt = torch.linalg.solve_triangular(chol, eye, upper=False).mT
        else:
            self.mass_sqrt = inv.rsqrt()

    def sample_momentum(self, like: torch.Tensor) -> torch.Tensor:
        eps = torch.randn_like(like)
        if self.dense:
            return (self.mass_sqrt @ eps.unsqueeze(-1)).squeeze(-1)
        return eps * self.mass_sqrt

    def velocity(self, r: torch.Tensor) -> torch.Tensor:
        if self.dense:
            return (self.inv @ r.unsqueeze(-1)).squeeze(-1)
        return r * self.inv


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-chain select: ``mask`` (C,) against tensors (C,) or (C, D)."""
    if a.dim() > 1:
        mask = mask.unsqueeze(-1)
    return torch.where(mask, a, b)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1)


def _logaddexp(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(a, b)


class _Tree:
    __slots__ = ("beg_r", "beg_v", "end", "rho", "log_w", "prop", "valid")

    def __init__(self, beg_r, beg_v, end, rho, log_w, prop, valid):
        self.beg_r, self.beg_v, self.end, self.rho = beg_r, beg_v, end, rho
        self.log_w, self.prop, self.valid = log_w, prop, valid


class _VectorizedSampler:
    """Lockstep HMC / NUTS transitions and adaptation for ``C`` chains."""

    def __init__(self, kernel: HMC, potential: BatchedModelPotential, z0: torch.Tensor,
                 warmup_steps: int) -> None:
        self.kernel = kernel
        self.is_nuts = isinstance(kernel, NUTS)
        self.potential = potential
        self.warmup_steps = warmup_steps
        self.num_chains = c = z0.size(0)
        self.z = z0.detach()
        self.pe, self.grad = potential(self.z)
        self.adapters = [WarmupAdapter(kernel._initial_step_size, kernel.adapt_step_size,
                                       kernel.adapt_mass_matrix, dense_mass=kernel.full_mass,
                                       target_accept_prob=kernel.target_accept_prob)
                         for _ in range(c)]
        for i, a in enumerate(self.adapters):
            a.configure(warmup_steps, self.z[i])
        self._sources = [None] * c
        self._sync_metric()
        if kernel.adapt_step_size:
            self._reinit_step_sizes()
        self.t = 0
        self.divergences: list[list[int]] = [[] for _ in range(c)]
        stats = dict(dtype=torch.float64, device=z0.device)
        self.accept_sum = torch.zeros(c, **stats)
        self.accept_count = 0
        self.phase_accept = torch.zeros(c, **stats)
        self.phase_count = 0
        self.depth_sum = torch.zeros(c, **stats)
        self.steps_sum = torch.zeros(c, **stats)
        self.slow_ends = {w.end for w in self.adapters[0].schedule[1:-1]}

    # --------------------------------------------------------------- adaptation

    def _sync_metric(self) -> None:
        current = [a.inverse_mass_matrix for a in self.adapters]
        if any(x is not y for x, y in zip(current, self._sources)):
            self.metric = _BatchedMetric(current)
            self._sources = current
        self.step = self.z.new_tensor([a.step_size for a in self.adapters]).unsqueeze(-1)

    def _reinit_step_sizes(self) -> None:
        """Hoffman & Gelman's heuristic for every chain at once, then restart each chain's
        dual averaging around its new step size."""
        self._sync_metric()
        step = self.step.squeeze(-1).clone()
        log_target = math.log(0.8)

        def log_accept(eps):
            r = self.metric.sample_momentum(self.z)
            h0 = self.pe + 0.5 * _dot(r, self.metric.velocity(r))
            e = eps.unsqueeze(-1)
            r1 = r - 0.5 * e * self.grad
            z1 = self.z + e * self.metric.velocity(r1)
            pe1, g1 = self.potential(z1)
            r1 = r1 - 0.5 * e * g1
            d = h0 - (pe1 + 0.5 * _dot(r1, self.metric.velocity(r1)))
            return torch.nan_to_num(d, nan=-math.inf)

        direction_up = log_accept(step) > log_target
        active = torch.ones_like(direction_up)
        lo, hi = self.kernel.min_stepsize, self.kernel.max_stepsize
        for _ in range(100):
            new = torch.where(direction_up, step * 2, step / 2)
            in_range = (new >= lo) & (new <= hi)
            active = active & in_range
            if not bool(active.any()):
                break
            step = torch.where(active, new, step)
            crossed = (log_accept(step) > log_target) != direction_up
            active = active & ~crossed
            if not bool(active.any()):
                break
        for a, s in zip(self.adapters, step.tolist()):
            a.step_size = s
            a.dual_averaging.reset(math.log(10 * s))
        self._sync_metric()

    def _adapt(self, accept: torch.Tensor) -> None:
        t = self.t
        for i, a in enumerate(self.adapters):
            a.step(t, self.z[i], float(accept[i]))
        if t in self.slow_ends and self.kernel.adapt_step_size and t < self.warmup_steps - 1:
            self._reinit_step_sizes()
        else:
            self._sync_metric()

    # ------------------------------------------------------------------ sample

    def sample(self) -> torch.Tensor:
        if self.is_nuts:
            accept, diverging, depth, steps = self._nuts_transition()
            self.depth_sum += depth.double()
            self.steps_sum += steps.double()
        else:
            accept, diverging = self._hmc_transition()
        t = self.t
        if t < self.warmup_steps:
            self._adapt(accept)
        else:
            if t == self.warmup_steps:
                self.phase_accept.zero_()
                self.phase_count = 0
            for i in diverging.nonzero().flatten().tolist():
                self.divergences[i].append(t - self.warmup_steps)
            self.accept_sum += accept.double()
            self.accept_count += 1
        self.phase_accept += accept.double()
        self.phase_count += 1
        self.t = t + 1
        return self.z

    def _energy(self, pe, r, v):
        h = pe + 0.5 * _dot(r, v)
        return torch.nan_to_num(h, nan=math.inf)

    def _hmc_transition(self):
        metric, eps = self.metric, self.step
        z, pe, grad = self.z, self.pe, self.grad
        r = metric.sample_momentum(z)
        h0 = self._energy(pe, r, metric.velocity(r))
        num_steps = (self.kernel.trajectory_length / eps.squeeze(-1)).floor().clamp(min=1).long()
        z1, r1, pe1, g1 = z, r, pe, grad
        for k in range(int(num_steps.max())):
            going = k < num_steps
            r_half = r1 - 0.5 * eps * g1
            z_new = z1 + eps * metric.velocity(r_half)
            pe_new, g_new = self.potential(z_new)
            r_new = r_half - 0.5 * eps * g_new
            z1, r1 = _where(going, z_new, z1), _where(going, r_new, r1)
            pe1, g1 = _where(going, pe_new, pe1), _where(going, g_new, g1)
        delta = self._energy(pe1, r1, metric.velocity(r1)) - h0
        accept_prob = torch.exp(-delta.clamp(min=0.0))
        take = torch.rand_like(accept_prob) < accept_prob
        self.z = _where(take, z1, z)
        self.pe = _where(take, pe1, pe)
        self.grad = _where(take, g1, grad)
        return accept_prob, delta > self.kernel._max_sliced_energy

    def _leaf(self, z, r, grad, eps, h0, live):
        metric = self.metric
        r = r - 0.5 * eps * grad
        z = z + eps * metric.velocity(r)
        pe, grad = self.potential(z)
        r = r - 0.5 * eps * grad
        v = metric.velocity(r)
        delta = self._energy(pe, r, v) - h0
        self._tree_accept += torch.where(live, torch.exp(-delta.clamp(min=0.0)),
                                         delta.new_zeros(()))
        self._tree_steps += live.long()
        diverging = delta > self.kernel._max_sliced_energy
        self._tree_diverging |= live & diverging
        if self.kernel.use_multinomial_sampling:
            log_w = -delta
        else:
            log_w = torch.where(-delta >= self._log_slice, delta.new_zeros(()),
                                delta.new_full((), -math.inf))
        return _Tree(r, v, (z, r, v, grad), r, log_w, (z, pe, grad), ~diverging)

    @staticmethod
    def _no_uturn(v_minus, v_plus, rho):
        return (_dot(v_plus, rho) > 0) & (_dot(v_minus, rho) > 0)

    def _criteria(self, first, second, rho, single):
        ok = self._no_uturn(first.beg_v, second.end[2], rho)
        if single:
            return ok
        return (ok & self._no_uturn(first.beg_v, second.beg_v, first.rho + second.beg_r)
                & self._no_uturn(first.end[2], second.end[2], second.rho + first.end[1]))

    def _build(self, z, r, grad, eps, depth, h0, live):
        if depth == 0:
            return self._leaf(z, r, grad, eps, h0, live)
        first = self._build(z, r, grad, eps, depth - 1, h0, live)
        live2 = live & first.valid
        if not bool(live2.any()):
            return first
        end = first.end
        second = self._build(end[0], end[1], end[3], eps, depth - 1, h0, live2)
        log_w = _logaddexp(first.log_w, second.log_w)
        take = torch.rand_like(log_w) < torch.exp(second.log_w - log_w)
        prop = tuple(_where(take, b, a) for a, b in zip(first.prop, second.prop))
        rho = first.rho + second.rho
        valid = first.valid & second.valid & self._criteria(first, second, rho, depth == 1)
        return _Tree(first.beg_r, first.beg_v, second.end, rho, log_w, prop, valid)

    def _nuts_transition(self):
        metric = self.metric
        c = self.num_chains
        z0, pe0, g0 = self.z, self.pe, self.grad
        r0 = metric.sample_momentum(z0)
        v0 = metric.velocity(r0)
        h0 = self._energy(pe0, r0, v0)
        self._tree_accept = torch.zeros_like(h0)
        self._tree_steps = torch.zeros(c, dtype=torch.long, device=z0.device)
        self._tree_diverging = torch.zeros(c, dtype=torch.bool, device=z0.device)
        if not self.kernel.use_multinomial_sampling:
            self._log_slice = torch.log1p(-torch.rand_like(h0))
        left = right = (z0, r0, v0, g0)
        rho = r0
        log_w = torch.zeros_like(h0)
        prop = (z0, pe0, g0)
        active = torch.ones(c, dtype=torch.bool, device=z0.device)
        depth_reached = torch.zeros(c, dtype=torch.long, device=z0.device)
        for depth in range(self.kernel.max_tree_depth):
            forward = torch.rand_like(h0) < 0.5
            edge = tuple(_where(forward, a, b) for a, b in zip(right, left))
            eps = torch.where(forward.unsqueeze(-1), self.step, -self.step)
            tree = self._build(edge[0], edge[1], edge[3], eps, depth, h0, active)
            depth_reached += active.long()
            valid = active & tree.valid
            take = valid & ((tree.log_w > log_w)
                            | (torch.rand_like(h0) < torch.exp(tree.log_w - log_w)))
            prop = tuple(_where(take, b, a) for a, b in zip(prop, tree.prop))
            log_w = torch.where(valid, _logaddexp(log_w, tree.log_w), log_w)
            old_beg = tuple(_where(forward, a, b) for a, b in zip(left, right))
            old = _Tree(old_beg[1], old_beg[2], edge, rho, None, None, None)
            new_rho = rho + tree.rho
            ok = self._criteria(old, tree, new_rho, depth == 0)
            right = tuple(_where(valid & forward, b, a) for a, b in zip(right, tree.end))
            left = tuple(_where(valid & ~forward, b, a) for a, b in zip(left, tree.end))
            rho = _where(valid, new_rho, rho)
            active = valid & ok
            if not bool(active.any()):
                break
        self.z, self.pe, self.grad = prop
        accept = self._tree_accept / self._tree_steps.clamp(min=1)
        return accept, self._tree_diverging, depth_reached, self._tree_steps

    # --------------------------------------------------------------- reporting

    def logging(self) -> dict[str, Any]:
        steps = [a.step_size for a in self.adapters]
        mean = float(self.phase_accept.mean()) / max(self.phase_count, 1)
        return {"step size": f"{min(steps):.2e}..{max(steps):.2e}" if len(steps) > 1
                else f"{steps[0]:.2e}", "acc. prob": f"{mean:.3f}"}

    def diagnostics(self, chain: int) -> dict[str, Any]:
        out = {"divergences": list(self.divergences[chain]),
               "acceptance rate": (float(self.accept_sum[chain]) / self.accept_count
                                   if self.accept_count else math.nan)}
        if self.is_nuts:
            n = max(self.t, 1)
            out["mean tree depth"] = float(self.depth_sum[chain]) / n
            out["mean num steps"] = float(self.steps_sum[chain]) / n
        return out


def _max_batch_dims(trace) -> int:
    dims = 0
    for site in trace.nodes.values():
        if site["type"] == "sample":
            dims = max(dims, len(getattr(site["fn"], "batch_shape", ())))
            for frame in site["cond_indep_stack"]:
                if frame.dim is not None:
                    dims = max(dims, -frame.dim)
    return dims


def run_vectorized_chains(mcmc, args: tuple, kwargs: dict) -> list[dict]:
    """Run ``mcmc.num_chains`` chains of ``mcmc.kernel`` (HMC or NUTS on a model) in
    lockstep; returns one result dict per chain, as the sequential runner does.

    :raises ValueError: for kernels other than HMC / NUTS, or without a model.
    """
    from .api import _slice_chain  # avoid an import cycle at module load

    kernel = mcmc.kernel
    if not isinstance(kernel, HMC) or kernel.model is None:
        raise ValueError("chain_method='vectorized' runs HMC or NUTS kernels built from a "
                         "model (not potential_fn); use chain_method='sequential'")
    num_chains = mcmc.num_chains
    inits, trace, first = [], None, None
    for chain in range(num_chains):
        init = _slice_chain(mcmc.initial_params, chain, num_chains)
        if init is None:
            init = kernel._user_initial_params if num_chains == 1 else None
        potential, z0, tr = setup_potential(
            kernel.model, args, kwargs, kernel._user_transforms, False, None, False,
            kernel.init_strategy, init)
        if first is None:
            first, trace = potential, tr
        inits.append(z0)
    z0 = torch.stack(inits)
    batched = choose_batched_potential(kernel.model, args, kwargs, first, trace,
                                       kernel.max_plate_nesting, z0)
    sampler = _VectorizedSampler(kernel, batched, z0, mcmc.warmup_steps)

    total = mcmc.warmup_steps + mcmc.num_samples
    bar = make_progress_bar(total, "Warmup" if mcmc.warmup_steps else "Sample",
                            mcmc.disable_progbar)
    import pyro.plugins

    sample_hook = pyro.plugins.event_hook("pyro_mcmc_sample")
    kept = []
    reported = 0
    try:
        for i in range(total):
            z = sampler.sample()
            warm = i < mcmc.warmup_steps
            j = i if warm else i - mcmc.warmup_steps
            if not warm:
                kept.append(z)
            if mcmc.hook_fn is not None or sample_hook is not None:
                params = batched.unpack(z)
                if mcmc.hook_fn is not None:
                    mcmc.hook_fn(kernel, params, "Warmup" if warm else "Sample", j)
                if sample_hook is not None:
                    for c in range(num_chains):
                        sample_hook(kernel=kernel, params={k: v[c] for k, v in params.items()},
                                    stage="warmup" if warm else "sample", i=j, chain_id=c)
            if bar is not None and ((i + 1) % 10 == 0 or i + 1 == total
                                    or i + 1 == mcmc.warmup_steps):
                bar.update(i + 1 - reported)
                reported = i + 1
                set_postfix(bar, sampler.logging())
                if i + 1 == mcmc.warmup_steps:
                    set_description(bar, "Sample")
    finally:
        if bar is not None:
            bar.close()
    draws = torch.stack(kept, dim=1)  # (C, N, D)
    per_site = batched.unpack(draws)
    if mcmc.save_params is not None:
        per_site = {k: v for k, v in per_site.items() if k in mcmc.save_params}
    transforms = _constrained_to_unconstrained(first)
    deterministic = list(getattr(first, "deterministic_names", []))
    return [{"samples": {k: v[c] for k, v in per_site.items()},
             "diagnostics": sampler.diagnostics(c),
             "transforms": transforms,
             "deterministic": deterministic} for c in range(num_chains)]
