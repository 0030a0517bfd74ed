"""pyro.ops.indexing.index / Index: indexing with nested tuples."""
import pytest
import torch

from pyro.ops.indexing import Index, index


@pytest.mark.parametrize(
    "args,expected",
    [
        ((Ellipsis, 1), (Ellipsis, 1)),
        ((Ellipsis, slice(None)), (Ellipsis, slice(None))),
        ((Ellipsis, (Ellipsis, None)), (Ellipsis, None)),
        (((Ellipsis, None), 1), (Ellipsis, None, 1)),
        (((0,), (1,)), (0, 1)),
        (((None, Ellipsis), (Ellipsis, None)), (None, Ellipsis, None)),
        (1, (1,)),
        ((), ()),
    ],
)
def test_index_flattens_like_plain_indexing(args, expected):
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(index(x, args), x[expected])
    torch.testing.assert_close(Index(x)[args], x[expected])


def test_index_generic_time_slot():
    x = torch.randn(5, 7)
    for t, expected in [(2, x[..., 2]), (slice(None), x), ((Ellipsis, None), x.unsqueeze(-1))]:
        torch.testing.assert_close(Index(x)[..., t], expected)


def test_index_errors_come_from_torch():
    with pytest.raises(IndexError):
        Index(torch.randn(2))[..., 0, ..., 0]
