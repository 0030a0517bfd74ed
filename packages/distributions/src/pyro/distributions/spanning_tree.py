"""Random spanning trees of the complete graph with weighted edges."""
from __future__ import annotations

import itertools
import math

import torch

from . import constraints
from .torch_distribution import TorchDistribution

__all__ = [
    "SpanningTree",
    "enumerate_spanning_trees",
    "find_best_tree",
    "make_complete_graph",
    "sample_tree",
    "sample_tree_approx",
    "sample_tree_mcmc",
]


def _num_vertices(num_edges: int) -> int:
    v = int(round((1 + math.sqrt(1 + 8 * num_edges)) / 2))
    if v * (v - 1) // 2 != num_edges:
        raise ValueError(f"SpanningTree: {num_edges} edge logits is not V*(V-1)/2 for any V")
    return v


def _rank(v1: int, v2: int) -> int:
    """Colexicographic rank of the sorted edge ``(v1, v2)``: ``v1 + v2 (v2 - 1) / 2``."""
    v1, v2 = min(v1, v2), max(v1, v2)
    return v1 + v2 * (v2 - 1) // 2


def make_complete_graph(num_vertices: int, backend: str = "python") -> torch.Tensor:
    """The edges of the complete graph on ``num_vertices`` vertices in colexicographic
    order (rank ``k = v1 + v2 (v2 - 1) / 2``).

    :param int num_vertices: ``V``.
    :param str backend: accepted for compatibility ("python" or "cpp"); one implementation.
    :returns: a ``2 x K`` long tensor of ``(v1, v2)`` pairs, ``K = V (V - 1) / 2``.
    """
    pairs = [(v1, v2) for v2 in range(num_vertices) for v1 in range(v2)]
    if not pairs:
        return torch.zeros((2, 0), dtype=torch.long)
    return torch.tensor(pairs, dtype=torch.long).t().contiguous()


def _sorted_edges(edges, device=None) -> torch.Tensor:
    """A ``(V - 1, 2)`` long tensor of sorted pairs in colexicographic order."""
    pairs = sorted(((min(a, b), max(a, b)) for a, b in edges), key=lambda e: _rank(*e))
    return torch.tensor(pairs, dtype=torch.long, device=device).reshape(-1, 2)


def _is_tree(edges, num_vertices: int) -> bool:
    parent = list(range(num_vertices))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra == rb:
            return False
        parent[ra] = rb
    return len(edges) == num_vertices - 1


def enumerate_spanning_trees(V: int) -> list:
    """Every spanning tree of the complete graph on ``V`` vertices (``V^(V-2)`` of them,
    Cayley), each a tuple of sorted edges in colexicographic order."""
    edges = [(v1, v2) for v2 in range(V) for v1 in range(v2)]
    return [tree for tree in itertools.combinations(edges, V - 1) if _is_tree(tree, V)]


def _weights(edge_logits: torch.Tensor, num_vertices: int) -> list[list[float]]:
    w = (edge_logits.detach().double() - edge_logits.detach().double().max()).exp().tolist()
    matrix = [[0.0] * num_vertices for _ in range(num_vertices)]
    k = 0
    for v2 in range(num_vertices):
        for v1 in range(v2):
            matrix[v1][v2] = matrix[v2][v1] = w[k]
            k += 1
    return matrix


def find_best_tree(edge_logits: torch.Tensor, backend: str = "python") -> torch.Tensor:
    """The maximum-weight spanning tree (Prim's algorithm).

    :param edge_logits: length-``K`` logits in colexicographic edge order.
    :returns: a ``(V - 1, 2)`` long tensor of sorted edges, colexicographically sorted.
    """
    v = _num_vertices(edge_logits.numel())
    logits = edge_logits.detach().double().tolist()
    best = {j: (logits[_rank(0, j)], 0) for j in range(1, v)}
    edges = []
    while best:
        j = max(best, key=lambda x: best[x][0])
        edges.append((best.pop(j)[1], j))
        for other in best:
            score = logits[_rank(j, other)]
            if score > best[other][0]:
                best[other] = (score, j)
    return _sorted_edges(edges, edge_logits.device)


def sample_tree_approx(edge_logits: torch.Tensor, backend: str = "python") -> torch.Tensor:
    """An approximate sample (to start MCMC): grow a tree from vertex 0, adding each time
    an edge from the tree to a new vertex chosen in proportion to ``exp(logit)``.

    :returns: a ``(V - 1, 2)`` long tensor of sorted edges, colexicographically sorted.
    """
    v = _num_vertices(edge_logits.numel())
    w = _weights(edge_logits, v)
    in_tree = [0]
    out = set(range(1, v))
    edges = []
    while out:
        candidates = [(a, b) for a in in_tree for b in out]
        probs = torch.tensor([w[a][b] for a, b in candidates], dtype=torch.float64)
        a, b = candidates[int(torch.multinomial(probs + 1e-300, 1))]
        edges.append((a, b))
        in_tree.append(b)
        out.remove(b)
    return _sorted_edges(edges, edge_logits.device)


def sample_tree_mcmc(edge_logits: torch.Tensor, edges: torch.Tensor,
                     backend: str = "python") -> torch.Tensor:
    """One sweep of Gibbs sampling on edges: each edge in turn (random order) is removed,
    splitting the tree in two components, and replaced by an edge bridging them chosen in
    proportion to ``exp(logit)``; the stationary law is the spanning-tree distribution.

    :param edge_logits: length-``K`` logits in colexicographic edge order.
    :param edges: a ``(V - 1, 2)`` tree to start from.
    :returns: a ``(V - 1, 2)`` long tensor of sorted edges, colexicographically sorted.
    """
    v = _num_vertices(edge_logits.numel())
    w = _weights(edge_logits, v)
    current = [tuple(e) for e in edges.tolist()]
    for index in torch.randperm(len(current)).tolist():
        rest = current[:index] + current[index + 1:]
        side = _component(rest, current[index][0], v)
        bridges = [(a, b) for a in side for b in range(v) if b not in side]
        probs = torch.tensor([w[a][b] for a, b in bridges], dtype=torch.float64)
        current[index] = bridges[int(torch.multinomial(probs + 1e-300, 1))]
    return _sorted_edges(current, edge_logits.device)


def _component(edges, start: int, num_vertices: int) -> set:
    neighbours: dict[int, list[int]] = {x: [] for x in range(num_vertices)}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    seen, stack = {start}, [start]
    while stack:
        for y in neighbours[stack.pop()]:
            if y not in seen:
                seen.add(y)
                stack.append(y)
    return seen


def _wilson(w: list[list[float]], num_vertices: int) -> list:
    """An exact sample by Wilson's algorithm: loop-erased random walks, stepping to a
    neighbour in proportion to the edge weight, until the tree is reached [2]."""
    in_tree = [False] * num_vertices
    nxt = [-1] * num_vertices
    in_tree[0] = True
    rows = [torch.tensor(row, dtype=torch.float64) + 1e-300 for row in w]
    for start in range(1, num_vertices):
        u = start
        while not in_tree[u]:
            nxt[u] = int(torch.multinomial(rows[u], 1))
            u = nxt[u]
        u = start
        while not in_tree[u]:
            in_tree[u] = True
            u = nxt[u]
    return [(u, nxt[u]) for u in range(1, num_vertices)]


def sample_tree(edge_logits: torch.Tensor, init_edges: torch.Tensor | None = None,
                mcmc_steps: int = 1, backend: str = "python") -> torch.Tensor:
    """A random spanning tree by ``mcmc_steps`` sweeps of :func:`sample_tree_mcmc` from
    ``init_edges`` (by default from :func:`sample_tree_approx`).

    :returns: a ``(V - 1, 2)`` long tensor of sorted edges, colexicographically sorted.
    """
    edges = sample_tree_approx(edge_logits) if init_edges is None else init_edges
    for _ in range(mcmc_steps):
        edges = sample_tree_mcmc(edge_logits, edges)
    return edges


class SpanningTree(TorchDistribution):
    r"""Distribution over the spanning trees of the complete graph on ``V`` vertices,
    :math:`p(T) \propto \exp\sum_{e \in T}\mathrm{logit}_e`.

    A tree is a long tensor ``edges`` of shape ``(V - 1, 2)``: each edge ``(v1, v2)``
    sorted (``v1 < v2``) and the edges in colexicographic order. ``edge_logits`` has one
    entry per edge of the complete graph in the same order, ``(0,1), (0,2), (1,2), (0,3),
    (1,3), ...`` (rank ``k = v1 + v2 (v2 - 1) / 2``; ``make_complete_graph(V)`` lists
    them).

    ``log_partition_function`` is exact by Kirchhoff's matrix-tree theorem (the log
    determinant of a reduced weighted Laplacian), so ``log_prob`` is exact; ``edge_mean``
    holds each edge's marginal probability (the gradient of the log partition function).
    :meth:`sample` is exact (Wilson's algorithm [2]) unless ``sampler_options`` asks for
    Pyro's MCMC sampler (``mcmc_steps``, ``initial_edges``: :func:`sample_tree`).

    :param edge_logits: length ``V (V - 1) / 2``.
    :param dict sampler_options: optional ``mcmc_steps``, ``initial_edges``, ``backend``.
    :raises ValueError: if the number of logits is not ``V (V - 1) / 2``.

    **References**

    [1] G. Kirchhoff (1847), the matrix-tree theorem.

    [2] D.B. Wilson (1996), *Generating random spanning trees more quickly than the cover
    time*, STOC.
    """

    arg_constraints = {"edge_logits": constraints.real}
    support = constraints.nonnegative_integer
    has_enumerate_support = True

    def __init__(self, edge_logits, sampler_options: dict | None = None,
                 validate_args=None) -> None:
        if edge_logits.dim() != 1:
            raise ValueError("SpanningTree: edge_logits must be one-dimensional, got shape "
                             f"{tuple(edge_logits.shape)}")
        self.num_vertices = _num_vertices(edge_logits.numel())
        if self.num_vertices < 2:
            raise ValueError("SpanningTree needs at least 2 vertices")
        self.edge_logits = edge_logits
        self.sampler_options = {} if sampler_options is None else dict(sampler_options)
        super().__init__(torch.Size(), torch.Size((self.num_vertices - 1, 2)),
                         validate_args=validate_args)

    def _laplacian_logdet(self, logits: torch.Tensor) -> torch.Tensor:
        v = self.num_vertices
        shift = logits.max()
        w = (logits - shift).exp()
        i, j = make_complete_graph(v).to(logits.device)
        adj = logits.new_zeros(v, v).index_put((i, j), w).index_put((j, i), w)
        lap = torch.diag(adj.sum(-1)) - adj
        return torch.linalg.slogdet(lap[1:, 1:])[1] + (v - 1) * shift

    @property
    def log_partition_function(self) -> torch.Tensor:
        """The exact log partition function (matrix-tree theorem)."""
        return self._laplacian_logdet(self.edge_logits)

    @property
    def edge_mean(self) -> torch.Tensor:
        """A ``(V, V)`` symmetric matrix of edge marginal probabilities (zero diagonal);
        the entries of each tree's edges sum to ``V - 1``."""
        logits = self.edge_logits.detach().requires_grad_()
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(self._laplacian_logdet(logits), logits)
        v = self.num_vertices
        i, j = make_complete_graph(v).to(grad.device)
        return grad.new_zeros(v, v).index_put((i, j), grad).index_put((j, i), grad)

    def log_prob(self, edges):
        if self._validate_args:
            self._validate_sample(edges)
        v1, v2 = edges[..., 0], edges[..., 1]
        k = torch.minimum(v1, v2) + torch.maximum(v1, v2) * (torch.maximum(v1, v2) - 1) // 2
        return self.edge_logits[k].sum(-1) - self.log_partition_function

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            shape = torch.Size(sample_shape)
            count = shape.numel()
            opts = self.sampler_options
            trees = []
            if "mcmc_steps" in opts or "initial_edges" in opts:
                edges = opts.get("initial_edges")
                for _ in range(count):
                    edges = sample_tree(self.edge_logits, edges,
                                        mcmc_steps=opts.get("mcmc_steps", 1))
                    trees.append(edges)
            else:
                w = _weights(self.edge_logits, self.num_vertices)
                for _ in range(count):
                    trees.append(_sorted_edges(_wilson(w, self.num_vertices),
                                               self.edge_logits.device))
            return torch.stack(trees).reshape(shape + self.event_shape)

    def enumerate_support(self, expand: bool = True):
        trees = enumerate_spanning_trees(self.num_vertices)
        return torch.tensor(trees, dtype=torch.long, device=self.edge_logits.device).reshape(
            len(trees), self.num_vertices - 1, 2)

    @property
    def mode(self) -> torch.Tensor:
        """The maximum-weight spanning tree."""
        return find_best_tree(self.edge_logits)
