"""Warmup adaptation of HMC / NUTS for a batch of chains: the step size by dual
averaging and the mass matrix from windowed sample covariances, on Stan's schedule.

The mass matrix acts on the flat vector of unconstrained coordinates, shaped
``(C, D)`` for ``C`` chains. It is made of blocks over groups of latent sites (Pyro's
``full_mass=[("a", "b"), ...]``): a dense block per group, one diagonal block for the
other sites (:class:`BlockMassMatrix`), or an arrowhead matrix whose dense rows are the
grouped sites (:class:`ArrowheadMassMatrix`). Each chain has its own matrix.

**References**

- M. D. Hoffman, A. Gelman (2014), "The No-U-Turn Sampler", JMLR 15, section 3.2.
- Stan Development Team, "Stan Reference Manual", "HMC algorithm parameters" (the
  adaptation windows and the regularized metric).
- M. Betancourt (2017), "A Conceptual Introduction to Hamiltonian Monte Carlo",
  arXiv:1701.02434, section 4.2 (Euclidean-Gaussian kinetic energy).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import namedtuple
from collections.abc import Callable
from typing import Generic, TypeVar

import torch

from pyro.ops.arrowhead import SymmArrowhead, sqrt, triu_inverse, triu_matvecmul
from pyro.ops.dual_averaging import DualAveraging
from pyro.ops.welford import WelfordArrowheadCovariance, WelfordCovariance

__all__ = ["ArrowheadMassMatrix", "BlockMassMatrix", "WarmupAdapter", "adapt_window",
           "adapt_schedule"]

adapt_window = namedtuple("adapt_window", ["start", "end"])
adapt_window.__doc__ = "Warmup iterations ``start..end`` (inclusive) of one adaptation phase."


def adapt_schedule(warmup_steps: int, init_buffer: int = 75, term_buffer: int = 50,
                   base_window: int = 25) -> list[adapt_window]:
    """Stan's warmup windows: a fast initial buffer (step size only), slow windows of
    doubling length (the mass matrix is re-estimated at the end of each), and a fast
    terminal buffer. With fewer than 20 warmup steps there is a single window; when the
    default sizes do not fit, the buffers take 15% and 10% of warmup.

    :returns: windows covering ``0 .. warmup_steps - 1`` (the slow ones are all but the
        first and the last).
    """
    if warmup_steps < 20:
        return [adapt_window(0, warmup_steps - 1)] if warmup_steps > 0 else []
    if init_buffer + term_buffer + base_window > warmup_steps:
        init_buffer = int(0.15 * warmup_steps)
        term_buffer = int(0.1 * warmup_steps)
        base_window = warmup_steps - init_buffer - term_buffer
    windows = [adapt_window(0, init_buffer - 1)]
    slow_end = warmup_steps - term_buffer
    start, size = init_buffer, base_window
    while start < slow_end:
        end = start + size
        if end + 2 * size > slow_end:  # a doubled next window that would not fit is merged
            end = slow_end
        windows.append(adapt_window(start, end - 1))
        start, size = end, 2 * size
    windows.append(adapt_window(slow_end, warmup_steps - 1))
    return windows


# ----------------------------------------------------------------------- blocks


_M = TypeVar("_M", torch.Tensor, SymmArrowhead)  # a block's matrix type


class _Block(ABC, Generic[_M]):
    """One block of the inverse mass matrix over coordinates ``idx`` (None: all, in order)
    for ``C`` chains, with the running estimate of its next value. ``inverse`` (and the
    square root the momenta are drawn through) are assigned by :meth:`set`, which the
    owner calls with :meth:`default` right after construction."""

    kind = "diag"
    inverse: _M
    welford: WelfordCovariance | WelfordArrowheadCovariance

    def __init__(self, key: tuple, idx: torch.Tensor | None, size: int) -> None:
        self.key, self.idx, self.size = key, idx, size

    @abstractmethod
    def default(self, c: int, like: torch.Tensor, init_scale: float) -> _M:
        """``init_scale * I`` for ``c`` chains, following ``like``'s dtype and device."""

    @abstractmethod
    def set(self, inverse: _M) -> None:
        """Use ``inverse`` (checked) as this block's inverse mass matrix."""

    @abstractmethod
    def velocity(self, r: torch.Tensor) -> torch.Tensor:
        """``M^-1 r`` of this block's momenta ``(C, n)``."""

    @abstractmethod
    def momentum(self, eps: torch.Tensor) -> torch.Tensor:
        """A draw ``r ~ Normal(0, M)`` from standard normal ``eps`` ``(C, n)``."""

    @abstractmethod
    def estimate(self) -> _M:
        """The regularized estimate of the inverse mass matrix from the recorded draws."""

    def adopt_estimate(self) -> None:
        """End of a slow window: use the estimate (given two draws or more) and restart
        it."""
        if self.welford.n_samples >= 2:
            self.set(self.estimate())
        self.welford.reset()


class _DiagBlock(_Block[torch.Tensor]):
    welford: WelfordCovariance

    def __init__(self, key: tuple, idx: torch.Tensor | None, size: int) -> None:
        super().__init__(key, idx, size)
        self.welford = WelfordCovariance(diagonal=self.kind == "diag")

    def default(self, c: int, like: torch.Tensor, init_scale: float) -> torch.Tensor:
        return like.new_full((c, self.size), init_scale)

    def set(self, inverse: torch.Tensor) -> None:
        if not bool((inverse > 0).all()):
            raise ValueError(f"the diagonal inverse mass matrix of sites {self.key} must be "
                             f"positive")
        self.inverse = inverse
        self._sqrt = inverse.rsqrt()

    def velocity(self, r: torch.Tensor) -> torch.Tensor:
        return self.inverse * r

    def momentum(self, eps: torch.Tensor) -> torch.Tensor:
        return eps * self._sqrt

    def estimate(self) -> torch.Tensor:
        return self.welford.get_covariance(regularize=True)


class _DenseBlock(_DiagBlock):
    kind = "dense"

    def default(self, c: int, like: torch.Tensor, init_scale: float) -> torch.Tensor:
        eye = torch.eye(self.size, dtype=like.dtype, device=like.device)
        return (init_scale * eye).expand(c, self.size, self.size).clone()

    def set(self, inverse: torch.Tensor) -> None:
        chol, info = torch.linalg.cholesky_ex(inverse)
        if bool((info != 0).any()):
            raise ValueError(f"the dense inverse mass matrix of sites {self.key} is not "
                             f"positive definite; use a diagonal one or more warmup steps")
        self.inverse = inverse
        # M^-1 = L L^T  =>  r = L^-T eps has covariance (L L^T)^-1 = M
        eye = torch.eye(self.size, dtype=inverse.dtype, device=inverse.device)
        self._sqrt = torch.linalg.solve_triangular(chol, eye.expand_as(chol), upper=False).mT

    def velocity(self, r: torch.Tensor) -> torch.Tensor:
        return (self.inverse @ r.unsqueeze(-1)).squeeze(-1)

    def momentum(self, eps: torch.Tensor) -> torch.Tensor:
        return (self._sqrt @ eps.unsqueeze(-1)).squeeze(-1)


class _ArrowheadBlock(_Block[SymmArrowhead]):
    """Inverse mass matrix ``SymmArrowhead(top (C, h, n), bottom_diag (C, n - h))``."""

    kind = "arrowhead"
    welford: WelfordArrowheadCovariance

    def __init__(self, key: tuple, idx: torch.Tensor | None, size: int,
                 head_size: int) -> None:
        super().__init__(key, idx, size)
        self.head_size = head_size
        self.welford = WelfordArrowheadCovariance(head_size=head_size)

    def default(self, c: int, like: torch.Tensor, init_scale: float) -> SymmArrowhead:
        h, n = self.head_size, self.size
        top = like.new_zeros(c, h, n)
        top[:, torch.arange(h), torch.arange(h)] = init_scale
        return SymmArrowhead(top, like.new_full((c, n - h), init_scale))

    def set(self, inverse: SymmArrowhead) -> None:
        inverse = SymmArrowhead(*inverse)
        try:
            self._sqrt = triu_inverse(sqrt(inverse))
        except RuntimeError as e:
            raise ValueError(f"the arrowhead inverse mass matrix of sites {self.key} is not "
                             f"positive definite ({e})") from None
        self.inverse = inverse

    def velocity(self, r: torch.Tensor) -> torch.Tensor:
        h = self.head_size
        top = self.inverse.top
        head = (top @ r.unsqueeze(-1)).squeeze(-1)
        tail = (top[..., h:].mT @ r[..., :h].unsqueeze(-1)).squeeze(-1) \
            + self.inverse.bottom_diag * r[..., h:]
        return torch.cat([head, tail], dim=-1)

    def momentum(self, eps: torch.Tensor) -> torch.Tensor:
        # M^-1 = U U^T (U = sqrt) => r = U^-T eps has covariance M
        return triu_matvecmul(self._sqrt, eps, transpose=True)

    def estimate(self) -> SymmArrowhead:
        return self.welford.get_covariance(regularize=True)


class BlockMassMatrix:
    """A block-diagonal (inverse) mass matrix over the flat unconstrained coordinates:
    one dense block per group of sites named in ``full_mass``, and a diagonal block for
    the remaining sites. Each of ``C`` chains has its own matrix.

    The kernel calls :meth:`configure` with the groups and the coordinate layout, then
    during warmup :meth:`update` with each position and :meth:`end_adaptation` at the end
    of each slow window.

    :param float init_scale: the initial inverse mass matrix is ``init_scale * I``.

    **References** Stan Reference Manual (metric adaptation); Betancourt (2017), 4.2.
    """

    def __init__(self, init_scale: float = 1.0) -> None:
        self.init_scale = float(init_scale)
        self.blocks: list[_DiagBlock | _ArrowheadBlock] = []
        self.adapt_mass_matrix = True
        self._perm = None
        self._inv_perm = None

    # ------------------------------------------------------------- layout

    def configure(self, mass_matrix_shape: dict[tuple, tuple], adapt_mass_matrix: bool = True,
                  options: dict | None = None, *, layout: dict[str, slice] | None = None,
                  initial: torch.Tensor | None = None) -> None:
        """Set the block structure.

        :param dict mass_matrix_shape: site-name tuple -> ``(n,)`` (diagonal block) or
            ``(n, n)`` (dense block), ``n`` the number of unconstrained coordinates of the
            group.
        :param bool adapt_mass_matrix: re-estimate the blocks during warmup.
        :param dict options: ``dtype`` / ``device`` of the matrices.
        :param dict layout: site name -> slice of the flat vector (default: the groups'
            coordinates in the order given).
        :param torch.Tensor initial: a tensor ``(C, D)`` whose batch size, dtype and device
            the initial matrices follow.
        """
        self.adapt_mass_matrix = adapt_mass_matrix
        options = options or {}
        if initial is None:
            total = sum(shape[0] for shape in mass_matrix_shape.values())
            initial = torch.zeros(1, total, **options)
        self.blocks = []
        start = 0
        c = initial.size(0)
        dim = initial.size(-1)
        for key, shape in mass_matrix_shape.items():
            n = int(shape[0])
            if layout is None:
                idx = torch.arange(start, start + n)
            else:
                idx = torch.cat([torch.arange(dim)[layout[name]] for name in key])
            start += n
            block = self._make_block(key, idx, n, len(shape) == 2)
            block.set(block.default(c, initial, self.init_scale))
            self.blocks.append(block)
        covered = torch.cat([b.idx for b in self.blocks if b.idx is not None]) \
            if self.blocks else torch.arange(0)
        if len(self.blocks) == 1 and torch.equal(covered, torch.arange(dim)):
            self.blocks[0].idx = None  # one block over every coordinate in order: no gathers
        for b in self.blocks:
            if b.idx is not None:
                b.idx = b.idx.to(initial.device)

    def _make_block(self, key: tuple, idx: torch.Tensor, n: int, dense: bool) -> _DiagBlock:
        return (_DenseBlock if dense else _DiagBlock)(key, idx, n)

    # --------------------------------------------------------------- values

    @property
    def inverse_mass_matrix(self) -> dict[tuple, torch.Tensor | SymmArrowhead]:
        """Site-name tuple -> the inverse mass matrix of that block: ``(C, n)`` (diagonal)
        or ``(C, n, n)`` (dense), or a :class:`~pyro.ops.arrowhead.SymmArrowhead`."""
        return {b.key: b.inverse for b in self.blocks}

    @inverse_mass_matrix.setter
    def inverse_mass_matrix(self, value: dict[tuple, torch.Tensor | SymmArrowhead]) -> None:
        for b in self.blocks:
            if b.key not in value:
                continue
            v = value[b.key]
            if isinstance(b, _ArrowheadBlock):
                if isinstance(v, torch.Tensor):
                    raise TypeError(f"the arrowhead block of sites {b.key} takes a "
                                    f"SymmArrowhead(top, bottom_diag), got a tensor")
                b.set(SymmArrowhead(*v))
                continue
            if not isinstance(v, torch.Tensor):
                raise TypeError(f"the {b.kind} block of sites {b.key} takes a tensor, got "
                                f"{type(v).__name__}")
            if v.dim() == (2 if b.kind == "dense" else 1):  # one matrix for every chain
                v = v.expand((b.inverse.shape[0],) + v.shape)
            b.set(v)

    def kinetic_grad(self, r: torch.Tensor) -> torch.Tensor:
        """The velocity ``M^-1 r`` of momenta ``r`` shaped ``(C, D)``."""
        if len(self.blocks) == 1 and self.blocks[0].idx is None:
            return self.blocks[0].velocity(r)
        out = torch.empty_like(r)
        for b in self.blocks:
            out[..., b.idx] = b.velocity(r[..., b.idx])
        return out

    def velocity_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """:meth:`kinetic_grad` as a callable valid until the matrix next changes: for
        one diagonal block, the bound product with the inverse mass (no Python frame per
        leapfrog step)."""
        block = self.blocks[0] if len(self.blocks) == 1 else None
        if isinstance(block, _DiagBlock) and block.idx is None and block.kind == "diag":
            return block.inverse.mul
        return self.kinetic_grad

    def sample_momentum(self, like: torch.Tensor) -> torch.Tensor:
        """A draw ``r ~ Normal(0, M)`` per chain, shaped like ``like`` ``(C, D)``."""
        eps = torch.randn_like(like)
        if len(self.blocks) == 1 and self.blocks[0].idx is None:
            return self.blocks[0].momentum(eps)
        out = torch.empty_like(eps)
        for b in self.blocks:
            out[..., b.idx] = b.momentum(eps[..., b.idx])
        return out

    # ----------------------------------------------------------- adaptation

    def update(self, z: torch.Tensor, z_grad: torch.Tensor | None = None) -> None:
        """Record one warmup position ``z`` ``(C, D)`` (``z_grad`` is not used)."""
        if not self.adapt_mass_matrix:
            return
        for b in self.blocks:
            b.welford.update(z if b.idx is None else z[..., b.idx])

    def end_adaptation(self) -> None:
        """Replace each block by its regularized estimate and restart the estimates."""
        if not self.adapt_mass_matrix:
            return
        for b in self.blocks:
            b.adopt_estimate()


class ArrowheadMassMatrix(BlockMassMatrix):
    """An arrowhead inverse mass matrix: dense rows and columns for the coordinates of the
    sites named in ``full_mass`` groups (the "head", e.g. global parameters of a
    hierarchical model), diagonal elsewhere. It is estimated by
    :class:`~pyro.ops.welford.WelfordArrowheadCovariance`; momenta are drawn through the
    triangular arrowhead square root (:mod:`pyro.ops.arrowhead`), so a step costs
    ``O(h D)`` instead of the ``O(D^2)`` of a dense matrix.

    Use it as ``kernel.mass_matrix_adapter = ArrowheadMassMatrix()`` before running.

    :param float init_scale: the initial inverse mass matrix is ``init_scale * I``.
    """

    def configure(self, mass_matrix_shape, adapt_mass_matrix=True, options=None, *,
                  layout=None, initial=None):
        self.adapt_mass_matrix = adapt_mass_matrix
        options = options or {}
        if initial is None:
            total = sum(shape[0] for shape in mass_matrix_shape.values())
            initial = torch.zeros(1, total, **options)
        dim = initial.size(-1)
        head, rest, names = [], [], []
        start = 0
        for key, shape in mass_matrix_shape.items():
            n = int(shape[0])
            idx = (torch.arange(start, start + n) if layout is None
                   else torch.cat([torch.arange(dim)[layout[name]] for name in key]))
            start += n
            (head if len(shape) == 2 else rest).append(idx)
            names.extend(key)
        head_idx = torch.cat(head) if head else torch.arange(0)
        perm = torch.cat([head_idx] + rest)
        block = _ArrowheadBlock(tuple(names), perm.to(initial.device), dim, head_idx.numel())
        if torch.equal(perm, torch.arange(dim)):
            block.idx = None
        block.set(block.default(initial.size(0), initial, self.init_scale))
        self.blocks = [block]


# ----------------------------------------------------------------------- adapter


class WarmupAdapter:
    """Step size and mass matrix adaptation of a batch of chains during warmup.

    The step size (one per chain) follows dual averaging of ``target_accept_prob - a_t``
    around ``log(10 * step_size)``; after each slow window the mass matrix adapter takes
    its new estimate and the kernel's step-size heuristic restarts the averaging.

    :param float step_size: the initial step size.
    :param bool adapt_step_size: run dual averaging during warmup.
    :param float target_accept_prob: the target mean acceptance statistic.
    :param bool adapt_mass_matrix: re-estimate the mass matrix in the slow windows.
    :param bool dense_mass: Pyro's ``full_mass``: True (one dense block), False
        (diagonal) or a list of site-name tuples (a dense block per group).

    **References** Hoffman & Gelman (2014); Stan Reference Manual (adaptation).
    """

    def __init__(self, step_size: float = 1.0, adapt_step_size: bool = False,
                 target_accept_prob: float = 0.8, adapt_mass_matrix: bool = False,
                 dense_mass: bool | list = False) -> None:
        self.initial_step_size = float(step_size)
        self.step_size: torch.Tensor | float = float(step_size)
        self.adapt_step_size = adapt_step_size
        self.target_accept_prob = target_accept_prob
        self.adapt_mass_matrix = adapt_mass_matrix
        self.dense_mass = dense_mass
        self.mass_matrix_adapter: BlockMassMatrix = BlockMassMatrix()
        self._dual = DualAveraging()
        self.adaptation_schedule: list[adapt_window] = []
        self._slow_ends: set[int] = set()
        self._slow_range: tuple[int, int] = (0, -1)
        self._find_step_size = None
        self._warmup_steps = 0

    def configure(self, warmup_steps: int, initial_step_size=None,
                  mass_matrix_shape: dict | None = None, find_reasonable_step_size_fn=None,
                  options: dict | None = None, *, layout=None,
                  initial: torch.Tensor | None = None) -> None:
        """Reset for new chains at ``initial`` ``(C, D)`` with ``warmup_steps`` warmup
        iterations; ``find_reasonable_step_size_fn(step_size (C,)) -> (C,)`` is the
        kernel's heuristic, run now and after each slow window."""
        self._warmup_steps = warmup_steps
        self._find_step_size = find_reasonable_step_size_fn
        if initial_step_size is not None:
            self.initial_step_size = float(initial_step_size)
        if mass_matrix_shape is None:
            raise ValueError("WarmupAdapter.configure needs mass_matrix_shape: site-name "
                             "tuple -> (n,) (diagonal block) or (n, n) (dense block)")
        if initial is None:  # one chain, in the dtype / device of options
            total = sum(int(shape[0]) for shape in mass_matrix_shape.values())
            initial = torch.zeros(1, total, **(options or {}))
        self.mass_matrix_adapter.configure(mass_matrix_shape, self.adapt_mass_matrix, options,
                                           layout=layout, initial=initial)
        self.adaptation_schedule = adapt_schedule(warmup_steps)
        slow = self.adaptation_schedule[1:-1]
        self._slow_ends = {w.end for w in slow}
        self._slow_range = (slow[0].start, slow[-1].end) if slow else (0, -1)
        # step sizes are adapted in double precision; the kernel casts them to z's dtype
        self.step_size = torch.full(initial.shape[:1], self.initial_step_size,
                                    dtype=torch.float64, device=initial.device)
        if self.adapt_step_size and find_reasonable_step_size_fn is not None:
            self.step_size = find_reasonable_step_size_fn(self.step_size)
        self._reset_dual()

    def _reset_dual(self) -> None:
        self._dual.prox_center = torch.log(10 * torch.as_tensor(self.step_size))
        self._dual.reset()

    @property
    def inverse_mass_matrix(self):
        return self.mass_matrix_adapter.inverse_mass_matrix

    def step(self, t: int, z: torch.Tensor, accept_prob: torch.Tensor,
             z_grad: torch.Tensor | None = None) -> None:
        """Adapt after warmup iteration ``t`` (0-based) that ended at ``z`` ``(C, D)`` with
        mean acceptance statistics ``accept_prob`` ``(C,)``."""
        if t >= self._warmup_steps:
            return
        if self.adapt_step_size:
            self._dual.step(self.target_accept_prob - accept_prob)
            x_t, x_avg = self._dual.get_state()
            self.step_size = torch.exp(x_avg if t == self._warmup_steps - 1 else x_t)
        if self.adapt_mass_matrix and self._slow_range[0] <= t <= self._slow_range[1]:
            self.mass_matrix_adapter.update(z, z_grad)
            if t in self._slow_ends:
                self.mass_matrix_adapter.end_adaptation()
                if self.adapt_step_size:
                    if self._find_step_size is not None:
                        self.step_size = self._find_step_size(self.step_size)
                    self._reset_dual()
