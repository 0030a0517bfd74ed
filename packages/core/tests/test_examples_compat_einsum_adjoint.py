"""Pyro's examples/einsum.py: plated einsum whose results carry ``_pyro_backward`` for the
operands marked by ``require_backward`` (torch_map, torch_sample, torch_marginal backends),
run eagerly and under ``torch.jit.trace``. Results are checked against brute-force
enumeration of the same small factor graph; the variables' stacking order and the marginal
convention (log p + log Z) are pyro-ppl 1.9.2's (recorded)."""
import itertools
import warnings

import pytest
import torch

from pyro.ops.contract import einsum
from pyro.ops.einsum.adjoint import require_backward


def _factors(seed=0):
    g = torch.Generator().manual_seed(seed)
    # a (3), b (4), plate i (2): factors a, ab, bi
    return [(torch.rand(3, generator=g) + 0.5).log(), (torch.rand(3, 4, generator=g) + 0.5).log(),
            (torch.rand(4, 2, generator=g) + 0.5).log()]


def _brute_log_joint(ops):
    a, ab, bi = ops
    # log of a[a] * ab[a, b] * prod_i bi[b, i], over (a, b)
    return a[:, None] + ab + bi.sum(-1)[None, :]


def _run(ops, backend, equation="a,ab,bi->", plates="i"):
    for x in ops:
        require_backward(x)
    results = einsum(equation, *ops, backend="pyro.ops.einsum." + backend, plates=plates,
                     modulo_total=True)
    for r in results:
        r._pyro_backward()
    out = [x._pyro_backward_result for x in ops]
    for x in ops:
        x._pyro_backward_result = None
    return results, out


def test_marginals_are_unnormalized_log_marginals():
    ops = _factors()
    results, (ma, mab, mbi) = _run(ops, "torch_marginal")
    joint = _brute_log_joint(ops)
    log_z = joint.logsumexp((0, 1))
    assert torch.allclose(results[0], log_z, atol=1e-5)
    assert torch.allclose(ma, joint.logsumexp(1), atol=1e-5)
    assert torch.allclose(mab, joint, atol=1e-5)
    # b is outside plate i: its marginal, the same for every plate element
    assert torch.allclose(mbi, joint.logsumexp(0)[:, None].expand(4, 2), atol=1e-5)


def test_map_values_and_pyros_stacking_order():
    ops = _factors()
    _, (va, vab, vbi) = _run(ops, "torch_map")
    joint = _brute_log_joint(ops)
    a, b = divmod(int(joint.argmax()), 4)
    assert va.tolist() == [a] and vab.tolist() == [a, b] and vbi.tolist() == [[b, b]]
    assert vbi._pyro_dims == "i"
    # deeper-plated variables first, then by name (as pyro-ppl orders them)
    sizes = dict(a=2, b=3, c=4, d=5, e=6)
    target = dict(a=1, b=2, c=3, d=4, e=5)
    inputs = ["a", "abi", "bcij", "adj", "deij"]
    operands = []
    for dims in inputs:
        t = torch.zeros([2 if s in "ij" else sizes[s] for s in dims])
        t[tuple(slice(None) if s in "ij" else target[s] for s in dims)] = 10.0
        operands.append(t)
    _, values = _run(operands, "torch_map", "a,abi,bcij,adj,deij->", "ij")
    firsts = [v.reshape(v.shape[0], -1)[:, 0].tolist() for v in values]
    assert firsts == [[1], [2, 1], [3, 2], [4, 1], [5, 4]]


def test_samples_are_joint_and_follow_the_posterior():
    torch.manual_seed(0)
    ops = _factors()
    joint = _brute_log_joint(ops)
    probs = (joint - joint.logsumexp((0, 1))).exp()
    n = 3000
    counts = torch.zeros(3, 4)
    for _ in range(n):
        _, (va, vab, vbi) = _run([x.clone() for x in ops], "torch_sample")
        assert va.item() == vab[0].item() and (vbi == vab[1]).all()  # one joint draw
        counts[vab[0], vab[1]] += 1
    freq = counts / n
    # binomial sd of each cell's frequency; 5 sd
    assert ((freq - probs).abs() <= 5 * (probs * (1 - probs) / n).sqrt() + 1e-3).all()


def test_kept_output_variable_is_refused_clearly():
    ops = _factors()
    for x in ops:
        require_backward(x)
    (result,) = einsum("a,ab,bi->a", *ops, backend="pyro.ops.einsum.torch_map", plates="i")
    with pytest.raises(ValueError, match="'a'.*kept in the output"):
        result._pyro_backward()


@pytest.mark.parametrize("backend", ["torch_marginal", "torch_map"])
def test_backward_under_jit_trace_matches_eager_without_tracer_warnings(backend):
    ops = [x.requires_grad_() for x in _factors()]

    def forward_backward(*operands):
        for x in operands:
            require_backward(x)
        results = einsum("a,ab,bi->", *operands, backend="pyro.ops.einsum." + backend,
                         plates="i", modulo_total=True)
        for r in results:
            r._pyro_backward()
        out = tuple(x._pyro_backward_result for x in operands)
        for x in operands:
            x._pyro_backward_result = None
        return out

    expected = forward_backward(*ops)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traced = torch.jit.trace(forward_backward, tuple(ops), check_trace=False)
    pyro_warnings = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)
                     and "/pyro/" in w.filename]
    assert pyro_warnings == []
    for got, want in zip(traced(*ops), expected):
        assert torch.allclose(got.float(), want.float(), atol=1e-5)


def test_brute_force_helper_agrees_with_enumeration():
    # the brute-force joint above, checked once against explicit enumeration
    ops = [x.exp() for x in _factors()]
    a, ab, bi = ops
    for i, j in itertools.product(range(3), range(4)):
        value = a[i] * ab[i, j] * bi[j].prod()
        assert torch.allclose(_brute_log_joint(_factors())[i, j], value.log(), atol=1e-5)
