"""Every family of :mod:`torch.distributions` with Pyro's methods.

The wrappers are generated from ``torch.distributions.__all__`` (each class there that
subclasses ``Distribution``, except the abstract bases), so a family that a new torch release
adds appears here without new code. Each wrapper is ``class Normal(torch.distributions.Normal,
TorchDistributionMixin)`` with an ``expand`` that keeps the Pyro class and never copies
parameters (torch's own ``expand`` makes views; when a torch family has none, the result is an
:class:`~pyro.distributions.torch_distribution.ExpandedDistribution`).

A few torch bugs are corrected by the mixins of :mod:`._torch_fixes` (see there).
A ``ValueError`` raised while building a family (an invalid parameter, possibly caught
by an inner torch distribution such as Beta's Dirichlet) is re-raised naming the family,
the parameter and the constraint.
``Independent`` is Pyro's (it knows ``to_event(-n)``) and ``TransformedDistribution`` is a
wrapper like the others.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import torch
import torch.distributions as _td
from torch.distributions import constraints as _constraints

from pyro.primitive_distributions.torch_distribution import (
    ExpandedDistribution,
    Independent,
    TorchDistributionMixin,
)

from ._torch_fixes import FIXES
from .conjugate_updates import CONJUGATE_UPDATES
from .fast_bernoulli import FastBernoulli
from .fast_beta import FastBeta
from .fast_log_normal import FastLogNormal
from .fast_normal import FastNormal
from .fast_validation import CheapArgCheck
from .forcible_has_rsample import ForcibleHasRsample

#: Direct implementations that replace torch's for speed (same distribution, tested
#: against scipy like the rest).
SPEEDUPS = {"Bernoulli": FastBernoulli, "Beta": FastBeta, "LogNormal": FastLogNormal,
            "Normal": FastNormal}

#: torch's abstract base of every distribution (Pyro's own is :mod:`.distribution`); the
#: abstract ``ExponentialFamily`` is wrapped like a family, as Pyro does.
_ABSTRACT = frozenset({"Distribution"})


class _PoissonIsSparse(_td.Poisson):
    """Pyro's ``Poisson(rate, *, is_sparse=False)``: with ``is_sparse=True`` ``log_prob``
    evaluates the data-dependent terms only where the value is nonzero (faster for
    sparse count data; same result)."""

    _pyro_signature = True  # the wrapper shows this __init__'s parameters

    def __init__(self, rate: torch.Tensor | float, *, is_sparse: bool = False,
                 validate_args: bool | None = None) -> None:
        _td.Poisson.__init__(self, rate, validate_args=validate_args)
        self.is_sparse = is_sparse

    def expand(self, batch_shape, _instance=None):
        new = _expand(self, batch_shape, _instance)
        if new is not self and isinstance(new, _td.Poisson):
            new.is_sparse = getattr(self, "is_sparse", False)
        return new

    def log_prob(self, value):
        if not getattr(self, "is_sparse", False):
            return _td.Poisson.log_prob(self, value)
        if self._validate_args:
            self._validate_sample(value)
        rate, value = torch.broadcast_tensors(self.rate, value)
        result = -rate.clone()
        nz = value > 0
        v, r = value[nz], rate[nz]
        result[nz] = result[nz] + v * r.log() - torch.lgamma(v + 1)
        return result


#: Pyro's parameters where they differ from torch's.
PYRO_PARAMETERS = {"Poisson": _PoissonIsSparse}


def _expand(self, batch_shape, _instance=None):
    """Expand to ``batch_shape`` (views of the parameters, no copies); returns ``self`` when
    the shape is unchanged."""
    batch_shape = torch.Size(batch_shape)
    if batch_shape == self.batch_shape and _instance is None:
        return self
    torch_cls = type(self)._torch_class
    try:
        return torch_cls.expand(self, batch_shape, _instance)
    except NotImplementedError:
        return ExpandedDistribution(self, batch_shape)


def _get_checked_instance(self, cls, _instance=None):
    # torch's expand() builds the new object with self.__new__(type(self)) only when
    # type(self).__init__ is cls.__init__; the wrapper's __init__ wraps exactly that one.
    if _instance is None and getattr(type(self).__init__, "_pyro_wraps", None) is cls.__init__:
        return self.__new__(type(self))
    return _td.Distribution._get_checked_instance(self, cls, _instance)


def _constraint_violation(name: str, torch_cls: type[_td.Distribution], args, kwargs):
    """The first argument of the failed call that violates its constraint, as torch words
    it (with the wrapper's name), or None."""
    arg_constraints = vars(torch_cls).get("arg_constraints")
    if not isinstance(arg_constraints, dict):
        arg_constraints = getattr(torch_cls, "arg_constraints", None)
    if not isinstance(arg_constraints, dict):
        return None
    try:
        bound = inspect.signature(torch_cls.__init__).bind(None, *args, **kwargs).arguments
    except TypeError:
        return None
    for param, constraint in arg_constraints.items():
        value = bound.get(param)
        if value is None or _constraints.is_dependent(constraint):
            continue
        try:
            tensor = torch.as_tensor(value)
            valid = bool(constraint.check(tensor).all())
        except (TypeError, ValueError, RuntimeError):
            continue
        if not valid:
            return (
                f"Expected parameter {param} (Tensor of shape {tuple(tensor.shape)}) of "
                f"distribution {name} to satisfy the constraint {constraint!r}, but found "
                f"invalid values:\n{value}"
            )
    return None


def _make_init(torch_cls: type[_td.Distribution], mixin: type | None = None):
    torch_init = torch_cls.__init__
    own_init = vars(mixin).get("__init__") if mixin is not None else None
    init = own_init or torch_init
    signature_source = own_init if own_init is not None and getattr(
        mixin, "_pyro_signature", False) else torch_init

    def __init__(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except ValueError as error:
            name = type(self).__name__
            message = str(error)
            if f"distribution {name}(" in message:
                raise
            # the failure came from an inner distribution (e.g. Beta's Dirichlet) or a
            # check that does not name the family: say which family, parameter, constraint
            better = _constraint_violation(name, torch_cls, args, kwargs)
            raise ValueError(better or f"{name}: {message}") from error

    # function attributes (no static type has them): _get_checked_instance reads the first,
    # inspect.signature and the docs the second
    setattr(__init__, "_pyro_wraps", torch_init)
    setattr(__init__, "__signature__", inspect.signature(signature_source))
    __init__.__doc__ = torch_init.__doc__
    __init__.__qualname__ = f"{torch_cls.__name__}.__init__"
    return __init__


def _mixin_of(name: str):
    return FIXES.get(name) or SPEEDUPS.get(name) or PYRO_PARAMETERS.get(name)


def _read_only_has_rsample(torch_cls: type[_td.Distribution]) -> bool:
    attr = inspect.getattr_static(torch_cls, "has_rsample")
    return isinstance(attr, property) and attr.fset is None


def _wrap(torch_cls: type[_td.Distribution]) -> type:
    name = torch_cls.__name__
    namespace = {
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": (torch_cls.__doc__ or "")
        + f"\n\n    (Pyro wrapper of :class:`torch.distributions.{name}` with "
        ":class:`~pyro.distributions.torch_distribution.TorchDistributionMixin`.)\n",
        "_torch_class": torch_cls,
        "__init__": _make_init(torch_cls, _mixin_of(name)),
        "_get_checked_instance": _get_checked_instance,
        "expand": _expand,
    }
    fix = _mixin_of(name)
    if fix is not None and "expand" in vars(fix):
        namespace["expand"] = vars(fix)["expand"]
    # CheapArgCheck sits just before torch's Distribution in the MRO: the family's own
    # super().__init__ reaches it and checks the arguments cheaply (same errors)
    bases: tuple[type, ...] = (torch_cls, CheapArgCheck, TorchDistributionMixin)
    if fix is not None:
        bases = (fix,) + bases
    if _read_only_has_rsample(torch_cls):  # so that has_rsample_ can force it
        bases = (ForcibleHasRsample,) + bases
    if name in CONJUGATE_UPDATES:  # adds conjugate_update (Beta, Gamma, Dirichlet)
        bases = (CONJUGATE_UPDATES[name],) + bases
    return type(name, bases, namespace)


def _torch_families():
    for name in _td.__all__:
        obj = getattr(_td, name)
        if inspect.isclass(obj) and issubclass(obj, _td.Distribution) and name not in _ABSTRACT:
            yield name, obj


if TYPE_CHECKING:
    # The static view of the loop below, for type checkers: the same classes with the same
    # bases (tests/test_torch_wrappers_static.py checks that the two agree).
    from ._torch_fixes import (
        _GeneralizedParetoFix,
        _LKJCholeskyFix,
        _TransformedDistributionFix,
    )
    from .conjugate_updates import (
        _BetaConjugateUpdate,
        _DirichletConjugateUpdate,
        _GammaConjugateUpdate,
    )

    class Bernoulli(FastBernoulli, _td.Bernoulli, CheapArgCheck, TorchDistributionMixin): ...
    class Beta(_BetaConjugateUpdate, FastBeta, _td.Beta, CheapArgCheck, TorchDistributionMixin): ...
    class Binomial(_td.Binomial, CheapArgCheck, TorchDistributionMixin): ...
    class Categorical(_td.Categorical, CheapArgCheck, TorchDistributionMixin): ...
    class Cauchy(_td.Cauchy, CheapArgCheck, TorchDistributionMixin): ...
    class Chi2(_td.Chi2, CheapArgCheck, TorchDistributionMixin): ...
    class ContinuousBernoulli(_td.ContinuousBernoulli, CheapArgCheck, TorchDistributionMixin): ...
    class Dirichlet(_DirichletConjugateUpdate, _td.Dirichlet, CheapArgCheck,
                    TorchDistributionMixin): ...
    class Exponential(_td.Exponential, CheapArgCheck, TorchDistributionMixin): ...
    class ExponentialFamily(_td.ExponentialFamily, CheapArgCheck, TorchDistributionMixin): ...
    class FisherSnedecor(_td.FisherSnedecor, CheapArgCheck, TorchDistributionMixin): ...
    class Gamma(_GammaConjugateUpdate, _td.Gamma, CheapArgCheck, TorchDistributionMixin): ...
    class GeneralizedPareto(_GeneralizedParetoFix, _td.GeneralizedPareto, CheapArgCheck,
                            TorchDistributionMixin): ...
    class Geometric(_td.Geometric, CheapArgCheck, TorchDistributionMixin): ...
    class Gumbel(ForcibleHasRsample, _td.Gumbel, CheapArgCheck, TorchDistributionMixin): ...
    class HalfCauchy(_td.HalfCauchy, CheapArgCheck, TorchDistributionMixin): ...
    class HalfNormal(_td.HalfNormal, CheapArgCheck, TorchDistributionMixin): ...
    class InverseGamma(_td.InverseGamma, CheapArgCheck, TorchDistributionMixin): ...
    class Kumaraswamy(_td.Kumaraswamy, CheapArgCheck, TorchDistributionMixin): ...
    class LKJCholesky(_LKJCholeskyFix, _td.LKJCholesky, CheapArgCheck, TorchDistributionMixin): ...
    class Laplace(_td.Laplace, CheapArgCheck, TorchDistributionMixin): ...
    class LogNormal(FastLogNormal, _td.LogNormal, CheapArgCheck, TorchDistributionMixin): ...
    class LogisticNormal(_td.LogisticNormal, CheapArgCheck, TorchDistributionMixin): ...
    class LowRankMultivariateNormal(_td.LowRankMultivariateNormal, CheapArgCheck,
                                    TorchDistributionMixin): ...
    class MixtureSameFamily(_td.MixtureSameFamily, CheapArgCheck, TorchDistributionMixin): ...
    class Multinomial(_td.Multinomial, CheapArgCheck, TorchDistributionMixin): ...
    class MultivariateNormal(_td.MultivariateNormal, CheapArgCheck, TorchDistributionMixin): ...
    class NegativeBinomial(_td.NegativeBinomial, CheapArgCheck, TorchDistributionMixin): ...
    class Normal(FastNormal, _td.Normal, CheapArgCheck, TorchDistributionMixin): ...
    class OneHotCategorical(_td.OneHotCategorical, CheapArgCheck, TorchDistributionMixin): ...
    class OneHotCategoricalStraightThrough(_td.OneHotCategoricalStraightThrough, CheapArgCheck,
                                           TorchDistributionMixin): ...
    class Pareto(ForcibleHasRsample, _td.Pareto, CheapArgCheck, TorchDistributionMixin): ...
    class Poisson(_PoissonIsSparse, _td.Poisson, CheapArgCheck, TorchDistributionMixin): ...
    class RelaxedBernoulli(_td.RelaxedBernoulli, CheapArgCheck, TorchDistributionMixin): ...
    class RelaxedOneHotCategorical(_td.RelaxedOneHotCategorical, CheapArgCheck,
                                   TorchDistributionMixin): ...
    class StudentT(_td.StudentT, CheapArgCheck, TorchDistributionMixin): ...
    class TransformedDistribution(ForcibleHasRsample, _TransformedDistributionFix,
                                  _td.TransformedDistribution, CheapArgCheck,
                                  TorchDistributionMixin): ...
    class Uniform(_td.Uniform, CheapArgCheck, TorchDistributionMixin): ...
    class VonMises(_td.VonMises, CheapArgCheck, TorchDistributionMixin): ...
    class Weibull(ForcibleHasRsample, _td.Weibull, CheapArgCheck, TorchDistributionMixin): ...
    class Wishart(_td.Wishart, CheapArgCheck, TorchDistributionMixin): ...

    __all__ = [
        "Bernoulli",
        "Beta",
        "Binomial",
        "Categorical",
        "Cauchy",
        "Chi2",
        "ContinuousBernoulli",
        "Dirichlet",
        "Exponential",
        "ExponentialFamily",
        "FisherSnedecor",
        "Gamma",
        "GeneralizedPareto",
        "Geometric",
        "Gumbel",
        "HalfCauchy",
        "HalfNormal",
        "Independent",
        "InverseGamma",
        "Kumaraswamy",
        "LKJCholesky",
        "Laplace",
        "LogNormal",
        "LogisticNormal",
        "LowRankMultivariateNormal",
        "MixtureSameFamily",
        "Multinomial",
        "MultivariateNormal",
        "NegativeBinomial",
        "Normal",
        "OneHotCategorical",
        "OneHotCategoricalStraightThrough",
        "Pareto",
        "Poisson",
        "RelaxedBernoulli",
        "RelaxedOneHotCategorical",
        "StudentT",
        "TransformedDistribution",
        "Uniform",
        "VonMises",
        "Weibull",
        "Wishart",
    ]
else:
    __all__ = []
    for _name, _cls in _torch_families():
        if _name == "Independent":
            globals()[_name] = Independent
        else:
            globals()[_name] = _wrap(_cls)
        __all__.append(_name)
    del _name, _cls
    __all__.sort()
