"""From a probability simplex to the ordered cut-points of ordinal regression."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions.transforms import Transform

from .. import constraints

__all__ = ["SimplexToOrderedTransform"]


class SimplexToOrderedTransform(Transform):
    r"""Map a probability vector :math:`p` of length :math:`K` (the probabilities of the
    :math:`K` ordered categories) to the :math:`K - 1` increasing cut-points :math:`c` of an
    ordinal logistic model whose latent location is ``anchor_point`` :math:`a`:

    .. math:: c_k = a + \mathrm{logit}\Big(\sum_{j \le k} p_j\Big), \quad k = 1, \dots, K-1,

    so that :math:`P(Y \le k) = \sigma(c_k - a)` reproduces :math:`p` (see
    :class:`~pyro.distributions.OrderedLogistic`). Used to put a Dirichlet prior on the
    category probabilities of an ordinal regression and induce a prior on the cut-points.

    :param anchor_point: :math:`a`, a tensor broadcastable with ``batch_shape`` (default 0).

    Shapes: ``x`` is ``batch_shape + (K,)``, ``y`` is ``batch_shape + (K - 1,)``.
    ``log_abs_det_jacobian`` (shape ``batch_shape``) is the log Jacobian with respect to the
    :math:`K - 1` free coordinates :math:`p_1, \dots, p_{K-1}`:
    :math:`-\sum_k \log(q_k (1 - q_k))` with :math:`q_k = \sum_{j \le k} p_j`.

    **References**

    [1] Betancourt (2019), *Ordinal Regression*,
    https://betanalpha.github.io/assets/case_studies/ordinal_regression.html
    """

    domain = constraints.simplex
    codomain = constraints.ordered_vector
    bijective = True

    def __init__(self, anchor_point: torch.Tensor | None = None) -> None:
        super().__init__()
        if anchor_point is None:
            anchor_point = torch.tensor(0.0)
        elif not isinstance(anchor_point, torch.Tensor):
            anchor_point = torch.tensor(float(anchor_point))
        self.anchor_point = anchor_point

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, SimplexToOrderedTransform)
            and self.anchor_point.shape == other.anchor_point.shape
            and bool((self.anchor_point == other.anchor_point).all())
        )

    def __hash__(self) -> int:
        return id(self)

    def forward_shape(self, shape):
        if len(shape) < 1 or shape[-1] < 2:
            raise ValueError(f"SimplexToOrderedTransform needs K >= 2 categories; got {shape}")
        return shape[:-1] + (shape[-1] - 1,)

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("SimplexToOrderedTransform needs at least one cut-point")
        return shape[:-1] + (shape[-1] + 1,)

    def _anchor(self, like):
        return self.anchor_point.to(like).unsqueeze(-1)

    def _call(self, x):
        q = x[..., :-1].cumsum(-1).clamp(0.0, 1.0)
        return torch.logit(q) + self._anchor(x)

    def _inverse(self, y):
        q = torch.sigmoid(y - self._anchor(y))
        pad = [q.new_zeros(q.shape[:-1] + (1,)), q, q.new_ones(q.shape[:-1] + (1,))]
        return torch.cat(pad, -1).diff(dim=-1)

    def log_abs_det_jacobian(self, x, y):
        z = y - self._anchor(y)
        # -log(q (1 - q)) with q = sigmoid(z), stably
        return (F.softplus(z) + F.softplus(-z)).sum(-1)
