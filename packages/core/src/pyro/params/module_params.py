"""The parameters of a ``torch.nn.Module`` under the names :func:`pyro.module` gives them
in the ParamStore, remembered per module between calls.

``pyro.module`` runs at every step of SVI; walking ``named_parameters()`` and joining
names each time costs more than checking that nothing the walk reads has changed. What
is remembered is checked at each call, so it never goes stale: the module tree (each
module's type, its ``_parameters`` names and objects in order, its ``_modules`` names
and objects in order) must be the one recorded. A Parameter replaced or added, a
submodule swapped, a ``load_state_dict(assign=True)``, a new module object, or another
``pyro.module`` name all walk the module again. Nothing about the ParamStore is
remembered (each call still reads the store), so ``pyro.clear_param_store()``,
``load`` and ``set_state`` need no notice.
"""
from __future__ import annotations

import operator
import weakref
from typing import NamedTuple

import torch

from .param_store import param_with_module_name

__all__ = ["store_named_parameters"]

_Module = torch.nn.Module
# what named_parameters() runs; a class or instance that changes one is walked each time
_WALK_METHODS = ("named_parameters", "_named_members", "named_modules")


class _Node(NamedTuple):
    # one module of the tree as the walk saw it (weak: the record keeps no module alive;
    # a child is known by id only while its own node's reference is alive)
    ref: weakref.ReferenceType[torch.nn.Module]
    cls: type
    param_names: tuple[str, ...]
    params: tuple[torch.Tensor | None, ...]
    child_names: tuple[str, ...]
    child_ids: tuple[int, ...]


class _Walk(NamedTuple):
    pyro_name: str
    entries: tuple[tuple[str, str, torch.nn.Parameter], ...]
    nodes: tuple[_Node, ...]


_WALKS: weakref.WeakKeyDictionary[_Module, _Walk] = weakref.WeakKeyDictionary()


def store_named_parameters(
    pyro_name: str, module: torch.nn.Module
) -> tuple[tuple[str, str, torch.nn.Parameter], ...]:
    """``(name in module, ParamStore name, parameter)`` for each parameter of ``module``
    in the order of ``module.named_parameters()``; the store name is
    ``param_with_module_name(pyro_name, name)``.

    The result is remembered for ``module`` and returned again while the module tree is
    unchanged (see the module docstring)."""
    walk = _WALKS.get(module)  # (a module class may define equality: the root is checked)
    if walk is not None and walk.pyro_name == pyro_name and \
            walk.nodes[0].ref() is module and _unchanged(walk.nodes):
        return walk.entries
    entries = tuple(
        (pname, param_with_module_name(pyro_name, pname), p)
        for pname, p in module.named_parameters()
    )
    nodes = _snapshot(module)
    if nodes is not None:
        _WALKS[module] = _Walk(pyro_name, entries, nodes)
    return entries


def _snapshot(module: torch.nn.Module) -> tuple[_Node, ...] | None:
    """The nodes of ``module``'s tree in ``named_modules()`` order, or ``None`` when its
    walk is not torch's own (a class or instance overriding a walk method, parameters or
    children not held in plain dicts)."""
    if type(module).named_parameters is not _Module.named_parameters or \
            type(module)._named_members is not _Module._named_members:
        return None
    nodes = []
    for _, m in module.named_modules():
        if type(m).named_modules is not _Module.named_modules or \
                not vars(m).keys().isdisjoint(_WALK_METHODS):
            return None
        params, children = m._parameters, m._modules
        if type(params) is not dict or type(children) is not dict:
            return None  # e.g. a ScriptModule's wrappers of its C++ dicts
        nodes.append(_Node(weakref.ref(m), type(m), tuple(params), tuple(params.values()),
                           tuple(children), tuple(map(id, children.values()))))
    return tuple(nodes)


def _unchanged(nodes: tuple[_Node, ...]) -> bool:
    # Each node's module is alive and of its type with the same parameters and children
    # (names and objects, in order); a child's id stands for the child itself because
    # the child's own node holds a live reference to it (no other object has its id).
    is_ = operator.is_
    for ref, cls, param_names, params, child_names, child_ids in nodes:
        m = ref()
        if m is None or type(m) is not cls:
            return False
        now, children = m._parameters, m._modules
        if type(now) is not dict or type(children) is not dict:
            return False
        if tuple(now) != param_names or not all(map(is_, now.values(), params)):
            return False
        if (children or child_names) and (
                tuple(children) != child_names or tuple(map(id, children.values())) != child_ids):
            return False
    return True
