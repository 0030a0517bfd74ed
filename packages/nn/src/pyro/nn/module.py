"""``PyroModule``: torch modules whose attributes are Pyro parameters and sample sites.

A :class:`PyroModule` is an ``nn.Module`` whose attributes may be

* :class:`PyroParam` s: learnable tensors with a constraint. They live in the module as the
  unconstrained ``nn.Parameter`` ``<name>_unconstrained`` and, while the module runs, in the
  ParamStore under the dotted module path (``"linear.weight"``): the *same* tensor object,
  so training with SVI (which optimizes ParamStore tensors) trains the module, and
  ``pyro.get_param_store()`` loads and saves it. Reading the attribute gives the
  constrained value.
* :class:`PyroSample` s: a prior (a distribution, or a function of the module returning
  one). Reading the attribute inside the module's ``forward`` draws the sample site named by
  the dotted module path (``"linear.weight"``), once per call of the outermost module: later
  reads in the same call return the same value.
* plain ``nn.Parameter`` s, which are shared with the ParamStore like :class:`PyroParam` s
  with the ``real`` constraint.

Submodules that are PyroModules share the context (the per-call sample cache) of the root and
are named by their attribute path. ``PyroModule[torch.nn.Linear]`` is the mixin class of any
torch module; :func:`to_pyro_module_` converts an existing module in place.

Example (Bayesian linear regression)::

    class BayesianRegression(PyroModule):
        def __init__(self, in_features):
            super().__init__()
            self.linear = PyroModule[nn.Linear](in_features, 1)
            self.linear.weight = PyroSample(dist.Normal(0., 1.).expand([1, in_features])
                                            .to_event(2))
            self.linear.bias = PyroSample(dist.Normal(0., 10.).expand([1]).to_event(1))
            self.sigma = PyroParam(torch.tensor(1.0), constraint=constraints.positive)

        def forward(self, x, y=None):
            mean = self.linear(x).squeeze(-1)           # sites "linear.weight", "linear.bias"
            with pyro.plate("data", x.shape[0]):
                return pyro.sample("obs", dist.Normal(mean, self.sigma), obs=y)

Module-local parameters: after :func:`enable_module_local_param` ``(True)`` PyroParams and
parameters stay in their module (no ParamStore entry, no ``param`` sites): train them with
``module.parameters()`` and a torch optimizer.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, cast

import torch
from torch.distributions import constraints, transform_to

import pyro
from pyro.params.param_store import link_unconstrained

__all__ = [
    "PyroModule",
    "PyroModuleList",
    "PyroParam",
    "PyroSample",
    "clear",
    "enable_module_local_param",
    "module_local_param_enabled",
    "pyro_method",
    "to_pyro_module_",
]

_MODULE_LOCAL_PARAMS = False


@pyro.settings.register("module_local_params", __name__, "_MODULE_LOCAL_PARAMS")
def _validate_module_local_params(value: Any) -> None:
    # pyro.settings.set(module_local_params=...) is Pyro's spelling of enable_module_local_param.
    if not isinstance(value, bool):
        raise TypeError(f"module_local_params must be a bool, got {value!r}")


def enable_module_local_param(flag: bool = True) -> None:
    """Keep PyroModule parameters in their modules (``True``) instead of the global
    ParamStore (``False``, the default)."""
    global _MODULE_LOCAL_PARAMS
    _MODULE_LOCAL_PARAMS = bool(flag)


def module_local_param_enabled() -> bool:
    """Whether PyroModule parameters are module-local (see :func:`enable_module_local_param`)."""
    return _MODULE_LOCAL_PARAMS


class PyroParam(NamedTuple):
    """Declare a learnable, possibly constrained, attribute of a :class:`PyroModule`::

        self.scale = PyroParam(torch.ones(3), constraint=constraints.positive)

    or, as a decorator giving a lazy initial value (computed at the first read)::

        @PyroParam(constraint=constraints.positive)
        def scale(self):
            return torch.ones(self.size)

    :param init_value: the initial constrained value (a tensor, or a callable returning one).
    :param constraint: a ``torch.distributions.constraints`` constraint (default ``real``).
    :param event_dim: number of rightmost dimensions that form an event (for plates).
    """

    init_value: torch.Tensor | Callable[[], torch.Tensor] | None = None
    constraint: constraints.Constraint = constraints.real
    event_dim: int | None = None

    def __call__(self, init_value: Callable) -> PyroParam:
        """Decorator form: ``@PyroParam(constraint=...)`` over a method ``fn(self)``."""
        return PyroParam(init_value, self.constraint, self.event_dim)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        name = _decorated_name(self.init_value, "PyroParam")
        if name not in obj.__dict__["_pyro_params"]:
            init = functools.partial(self.init_value, obj)
            setattr(obj, name, PyroParam(init, self.constraint, self.event_dim))
        return obj.__getattr__(name)


class PyroSample(NamedTuple):
    """Declare a random attribute of a :class:`PyroModule`::

        self.weight = PyroSample(dist.Normal(0., 1.).expand([3, 2]).to_event(2))
        self.loc = PyroSample(lambda self: dist.Normal(self.center, 1.))  # depends on module

    Reading it inside the module's forward draws the site named by the dotted module path,
    once per call. A tensor prior records a deterministic site. Also usable as a decorator
    over a method ``fn(self) -> distribution``.

    :param prior: a distribution, a function of the module returning one, or a tensor.
    """

    prior: Any

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        name = _decorated_name(self.prior, "PyroSample")
        if name not in obj.__dict__["_pyro_samples"]:
            setattr(obj, name, PyroSample(self.prior))
        return obj.__getattr__(name)


def _decorated_name(fn, what: str) -> str:
    name = getattr(fn, "__name__", None)
    if not callable(fn) or name is None:
        raise TypeError(
            f"a {what} used as a class attribute must decorate a method (def name(self): ...); "
            f"to give a fixed value, assign it in __init__: self.name = {what}(...)"
        )
    return name


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Context:
    """State shared by a tree of PyroModules: the depth of nested forward calls and the
    per-call cache of sampled values (cleared when the outermost call returns)."""

    __slots__ = ("active", "cache")

    def __init__(self) -> None:
        self.active = 0
        self.cache: dict = {}

    def __enter__(self) -> _Context:
        self.active += 1
        return self

    def __exit__(self, *exc) -> None:
        self.active -= 1
        if not self.active:
            self.cache.clear()


# ------------------------------------------------------- ParamStore sharing


def _store_unconstrained(store, name: str) -> torch.Tensor | None:
    """The unconstrained leaf the store holds for ``name`` (None if absent)."""
    return store.get_unconstrained(name)


def _store_adopt(store, name: str, unconstrained: torch.Tensor, constraint) -> None:
    """Make the tensor object ``unconstrained`` the store's leaf for ``name`` (constrained by
    ``constraint``), so that the module and the store share it."""
    store.set_unconstrained(name, unconstrained, constraint)


def _as_parameter(store, name: str, value: torch.Tensor, constraint) -> torch.nn.Parameter:
    """The store's leaf for ``name`` as an ``nn.Parameter`` (converting it in the store:
    the data is kept)."""
    if isinstance(value, torch.nn.Parameter):
        return value
    param = torch.nn.Parameter(value.detach(), requires_grad=value.requires_grad)
    _store_adopt(store, name, param, constraint)
    return param


def _unconstrain(value: torch.Tensor, constraint) -> torch.nn.Parameter:
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value, dtype=torch.get_default_dtype())
    with torch.no_grad():
        unconstrained = transform_to(constraint).inv(value.detach())
    return torch.nn.Parameter(unconstrained.detach().clone().contiguous())


def _constrained_view(unconstrained: torch.Tensor, constraint) -> torch.Tensor:
    if type(constraint) is type(constraints.real):
        return unconstrained
    return link_unconstrained(transform_to(constraint)(unconstrained), unconstrained)


# --------------------------------------------------------------- the class


class _PyroModuleMeta(type):  # torch.nn.Module's own metaclass is type
    _mixin_cache: dict = {}

    def __getitem__(cls, Module: type) -> type:
        """``PyroModule[Module]``: the subclass of ``Module`` mixing in PyroModule."""
        if not (isinstance(Module, type) and issubclass(Module, torch.nn.Module)):
            raise TypeError(f"PyroModule[...] expects a torch.nn.Module subclass; got {Module!r}")
        if issubclass(Module, PyroModule):
            return Module
        if Module is torch.nn.Module:
            return PyroModule
        cached = _PyroModuleMeta._mixin_cache.get(Module)
        if cached is not None:
            return cached
        bases = [PyroModule[b] for b in Module.__bases__ if issubclass(b, torch.nn.Module)]
        result = _PyroModuleMeta(
            "Pyro" + Module.__name__,
            (Module, *bases),
            {"__reduce__": _reduce_mixin, "__module__": __name__, "_pyro_base": Module},
        )
        _PyroModuleMeta._mixin_cache[Module] = result
        return result


def _new_mixin_instance(Module: type) -> PyroModule:
    cls: Any = _PyroModuleMeta.__getitem__(PyroModule, Module)  # a class made at run time
    return cls.__new__(cls)


def _reduce_mixin(self):
    # PyroModule[Module] is made at run time, so pickle rebuilds it from Module.
    return _new_mixin_instance, (type(self)._pyro_base,), self.__dict__.copy()


class PyroModule(torch.nn.Module, metaclass=_PyroModuleMeta):
    """A ``torch.nn.Module`` whose attributes may be :class:`PyroParam` s,
    :class:`PyroSample` s, ``nn.Parameter`` s shared with the ParamStore, and PyroModule
    submodules named by their attribute path (see the module docstring).

    :param str name: the name prefix of this module's sites and parameters when it is the
        root (default ``""``: a root's attribute ``loc`` is the site ``"loc"``, its
        submodule ``linear``'s attribute ``weight`` is ``"linear.weight"``).

    ``PyroModule[Module]`` gives the PyroModule version of any torch module class, e.g.
    ``PyroModule[torch.nn.Linear](3, 1)``.
    """

    def __init__(self, name: str = "") -> None:
        object.__setattr__(self, "_pyro_name", name)
        object.__setattr__(self, "_pyro_context", _Context())
        object.__setattr__(self, "_pyro_params", OrderedDict())
        object.__setattr__(self, "_pyro_samples", OrderedDict())
        super().__init__()

    # ----------------------------------------------------------------- naming

    def _pyro_get_fullname(self, name: str) -> str:
        return _join(self._pyro_name, name)

    def _pyro_set_supermodule(self, name: str, context: _Context) -> None:
        object.__setattr__(self, "_pyro_name", name)
        object.__setattr__(self, "_pyro_context", context)
        for key, child in self._modules.items():
            if child is not None:
                _name_descendants(child, _join(name, key), context)

    def add_module(self, name: str, module: torch.nn.Module | None) -> None:
        # containers (PyroModule[nn.Sequential], PyroModule[nn.ModuleList]) add children here
        super().add_module(name, module)
        if module is not None:
            _name_descendants(module, self._pyro_get_fullname(name), self._pyro_context)

    # ------------------------------------------------------------ running

    def __call__(self, *args, **kwargs):
        with self._pyro_context:
            return super().__call__(*args, **kwargs)

    def named_pyro_params(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, torch.Tensor]]:
        """Iterate over ``(dotted name, constrained value)`` of the :class:`PyroParam` s of
        this module (and of its PyroModule descendants when ``recurse``)."""
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in modules:
            if isinstance(mod, PyroModule):
                for name in list(mod._pyro_params):
                    yield _join(mod_prefix, name), getattr(mod, name)

    # ------------------------------------------------------------ attributes

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, PyroParam):
            self._pyro_set_param(name, value)
            return
        if isinstance(value, PyroSample):
            _delete_existing(self, name)
            self._pyro_samples[name] = value.prior
            return
        if isinstance(value, PyroModule):
            _delete_existing(self, name)
            value._pyro_set_supermodule(self._pyro_get_fullname(name), self._pyro_context)
            super().__setattr__(name, value)
            return
        if isinstance(value, torch.nn.Module):
            _delete_existing(self, name)
            _name_descendants(value, self._pyro_get_fullname(name), self._pyro_context)
            super().__setattr__(name, value)
            return
        if isinstance(value, torch.nn.Parameter):
            _delete_existing(self, name)
            super().__setattr__(name, value)
            return
        if isinstance(value, torch.Tensor) and name in self._pyro_params:
            # Assigning a tensor to an existing PyroParam sets its constrained value.
            constraint, _ = self._pyro_params[name]
            unconstrained = getattr(self, name + "_unconstrained")
            with torch.no_grad():
                unconstrained.data = transform_to(constraint).inv(value.detach()).contiguous()
            return
        if name in self._pyro_params or name in self._pyro_samples:
            _delete_existing(self, name)
        super().__setattr__(name, value)

    def _pyro_set_param(self, name: str, value: PyroParam) -> None:
        init, constraint, event_dim = value
        if constraint is None:
            constraint = constraints.real
        _delete_existing(self, name)
        self._pyro_params[name] = (constraint, event_dim)
        if callable(init) and not isinstance(init, torch.Tensor):
            init = init()
        if init is None:
            raise ValueError(
                f"PyroParam {self._pyro_get_fullname(name)!r} has no initial value: give "
                f"PyroParam(init_value, constraint=...)"
            )
        super().__setattr__(name + "_unconstrained", _unconstrain(init, constraint))

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        pyro_params = d.get("_pyro_params")
        if pyro_params is not None and name in pyro_params:
            constraint, event_dim = pyro_params[name]
            key = name + "_unconstrained"
            unconstrained = d["_parameters"].get(key)
            if unconstrained is None:
                unconstrained = torch.nn.Module.__getattr__(self, key)
            if self._pyro_context.active and not _MODULE_LOCAL_PARAMS:
                fullname = _join(self._pyro_name, name)
                self._pyro_sync_param(key, fullname, unconstrained, constraint)
                return pyro.param(fullname, event_dim=event_dim)
            return _constrained_view(unconstrained, constraint)

        pyro_samples = d.get("_pyro_samples")
        if pyro_samples is not None and name in pyro_samples:
            return self._pyro_sample_attr(name, pyro_samples[name])

        parameters = d.get("_parameters")
        if parameters is not None and name in parameters:
            value = parameters[name]
            if value is not None and self._pyro_context.active and not _MODULE_LOCAL_PARAMS:
                fullname = _join(self._pyro_name, name)
                self._pyro_sync_param(name, fullname, value, constraints.real)
                return pyro.param(fullname)
            return value
        return super().__getattr__(name)

    def _pyro_sync_param(self, key: str, fullname: str, local: torch.Tensor, constraint):
        """Share the unconstrained tensor ``local`` (``self._parameters[key]``) with the
        ParamStore entry ``fullname``: the store's tensor wins when both exist (e.g. after
        ``ParamStore.load`` or ``set_state``), otherwise the store adopts ``local``."""
        store = pyro.get_param_store()
        stored = _store_unconstrained(store, fullname)
        if stored is None:
            _store_adopt(store, fullname, local, constraint)
            return local
        if stored is not local:
            stored = _as_parameter(store, fullname, stored, constraint)
            self._parameters[key] = stored
        return stored

    def _pyro_sample_attr(self, name: str, prior: Any) -> Any:
        context = self._pyro_context
        fullname = self._pyro_get_fullname(name)
        if context.active:
            value = context.cache.get(fullname)
            if value is not None:
                return value
        if not hasattr(prior, "sample") and not isinstance(prior, torch.Tensor):
            prior = prior(self)
        if isinstance(prior, torch.Tensor):
            value = pyro.deterministic(fullname, prior)
        else:
            value = pyro.sample(fullname, prior)
        if context.active:
            context.cache[fullname] = value
        return value

    def __delattr__(self, name: str) -> None:
        if name in self._pyro_params:
            del self._pyro_params[name]
            torch.nn.Module.__delattr__(self, name + "_unconstrained")
            _forget_stored(self._pyro_get_fullname(name), prefix=False)
            return
        if name in self._pyro_samples:
            del self._pyro_samples[name]
            return
        if name in self._parameters:
            del self._parameters[name]
            _forget_stored(self._pyro_get_fullname(name), prefix=False)
            return
        if name in self._modules:
            del self._modules[name]
            _forget_stored(self._pyro_get_fullname(name), prefix=True)
            return
        super().__delattr__(name)


def _forget_stored(fullname: str, prefix: bool) -> None:
    """Drop ``fullname`` (or, for a submodule, every name under ``fullname.``) from the
    ParamStore, so that a deleted or replaced attribute does not come back from it."""
    if _MODULE_LOCAL_PARAMS:
        return
    store = pyro.get_param_store()
    if not prefix:
        if fullname in store:
            del store[fullname]
        return
    start = fullname + "."
    for key in [k for k in store.keys() if k.startswith(start)]:
        del store[key]


def _delete_existing(module: PyroModule, name: str) -> None:
    """Remove whatever ``name`` currently is (param, PyroParam, PyroSample, submodule)."""
    if (
        name in module._pyro_params
        or name in module._pyro_samples
        or name in module._parameters
        or name in module._modules
    ):
        PyroModule.__delattr__(module, name)


def _name_descendants(module: torch.nn.Module, name: str, context: _Context) -> None:
    """Name the PyroModules in ``module`` (itself, or found through plain containers such
    as ``nn.Sequential``) by their dotted path from the root, sharing its context."""
    if isinstance(module, PyroModule):
        module._pyro_set_supermodule(name, context)
        return
    for key, child in module._modules.items():
        if child is not None:
            _name_descendants(child, _join(name, key), context)


def pyro_method(fn: Callable) -> Callable:
    """Decorate a :class:`PyroModule` method other than ``forward`` so that it runs in the
    module's context (PyroSample attributes are sampled once per call, parameters are
    shared with the ParamStore), e.g. a ``guide`` or ``model`` method."""

    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        if not isinstance(self, PyroModule):
            raise TypeError(f"@pyro_method {fn.__name__!r} belongs on a PyroModule subclass")
        with self._pyro_context:
            return fn(self, *args, **kwargs)

    return method


def to_pyro_module_(m: torch.nn.Module, recurse: bool = True) -> None:
    """Convert the torch module ``m`` **in place** to a :class:`PyroModule` (its class
    becomes ``PyroModule[type(m)]``); with ``recurse`` its submodules too. Its parameters
    keep their values and are shared with the ParamStore under their dotted names when it
    runs; attributes can then be replaced by :class:`PyroSample` / :class:`PyroParam`.

    :raises TypeError: if ``m`` is not a ``torch.nn.Module``.
    """
    if not isinstance(m, torch.nn.Module):
        raise TypeError(f"to_pyro_module_ expects a torch.nn.Module; got {type(m).__name__}")
    if not isinstance(m, PyroModule):
        m.__class__ = PyroModule[type(m)]
        object.__setattr__(m, "_pyro_name", "")
        object.__setattr__(m, "_pyro_context", _Context())
        object.__setattr__(m, "_pyro_params", OrderedDict())
        object.__setattr__(m, "_pyro_samples", OrderedDict())
    pm = cast(PyroModule, m)  # its class was swapped above
    for key, child in list(m._modules.items()):
        if child is None:
            continue
        if recurse:
            to_pyro_module_(child, recurse=True)
        if isinstance(child, PyroModule):
            child._pyro_set_supermodule(pm._pyro_get_fullname(key), pm._pyro_context)
        else:
            _name_descendants(child, pm._pyro_get_fullname(key), pm._pyro_context)


class PyroModuleList(torch.nn.ModuleList, PyroModule):
    """A ``torch.nn.ModuleList`` that is a :class:`PyroModule` (also spelled
    ``PyroModule[torch.nn.ModuleList]``): its PyroModule elements are named ``"<list
    name>.<index>"`` and share the root's context, e.g. a stack of Bayesian layers::

        self.layers = PyroModuleList([PyroModule[nn.Linear](4, 4) for _ in range(3)])

    :param modules: an iterable of modules to add (default none).

    Indexing with an integer gives the element; slicing gives a plain
    ``torch.nn.ModuleList`` of the same (still named) elements, so that a slice does not
    rename them.
    """

    def __init__(self, modules=None) -> None:
        super().__init__(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return torch.nn.ModuleList(list(self._modules.values())[idx])
        return super().__getitem__(idx)


# PyroModule[torch.nn.ModuleList] is this class, not a generated mixin
_PyroModuleMeta._mixin_cache[torch.nn.ModuleList] = PyroModuleList


def clear(mod: PyroModule) -> None:
    """Remove the parameters, PyroParams, PyroSamples and submodules of ``mod`` (and their
    ParamStore entries).

    :raises TypeError: if ``mod`` is not a :class:`PyroModule`.
    """
    if not isinstance(mod, PyroModule):
        raise TypeError(f"clear expects a PyroModule; got {type(mod).__name__}")
    for name in list(mod._pyro_params):
        delattr(mod, name)
    for name in list(mod._parameters):
        delattr(mod, name)
    for name in list(mod._modules):
        delattr(mod, name)
    for name in list(mod._pyro_samples):
        delattr(mod, name)
