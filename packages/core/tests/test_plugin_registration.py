"""Registration goes through pluggy's hook calling: its call order, tryfirst/trylast and
hook-call monitoring; first-party registries hold only what a plugin could add."""
import inspect
from types import SimpleNamespace

import pytest

import pyro.plugins as plugins
from pyro import poutine
from pyro.plugins import hookimpl
from pyro.plugins.manager import _invalidate


def _adder(label, **marker):
    class Plugin:
        @hookimpl(**marker)
        def pyro_register_handlers(self, registry):
            registry.add(f"h_{label}", poutine.scale)

    return Plugin()


def _order(reg, labels):
    return [name for name in reg if name.removeprefix("h_") in labels]


def test_registration_follows_pluggys_call_order(hand_registered):
    hand_registered(_adder("a"), "a")
    hand_registered(_adder("b"), "b")
    hand_registered(_adder("last", trylast=True), "last")
    hand_registered(_adder("first", tryfirst=True), "first")
    reg = plugins.get_registry("handlers")
    # tryfirst, then most recent registration first, then trylast
    assert _order(reg, {"a", "b", "first", "last"}) == ["h_first", "h_b", "h_a", "h_last"]
    assert [reg.provider(n) for n in ("h_first", "h_b", "h_a", "h_last")] == [
        "first", "b", "a", "last"]


def test_registration_is_seen_by_hook_call_monitoring(hand_registered):
    hand_registered(_adder("a"), "a")
    pm = plugins.get_plugin_manager()
    calls = []
    undo = pm.add_hookcall_monitoring(
        lambda hook_name, impls, kwargs: calls.append(
            (hook_name, [pm.get_name(i.plugin) for i in impls])),
        lambda outcome, hook_name, impls, kwargs: None,
    )
    try:
        _invalidate()
        plugins.get_registry("handlers")
    finally:
        undo()
    assert ("pyro_register_handlers", ["a"]) in calls
    # one call per plugin, each holding only that plugin
    assert all(len(impls) == 1 for name, impls in calls if name == "pyro_register_handlers")


def test_a_failing_plugin_leaves_no_half_filled_registry(hand_registered):
    class Broken:
        @hookimpl
        def pyro_register_handlers(self, registry):
            raise RuntimeError("boom")

    hand_registered(Broken(), "broken")
    with pytest.raises(RuntimeError, match="boom"):
        plugins.get_registry("handlers")
    plugins.unregister(name="broken")
    assert plugins.get_registry("handlers").get("trace") is poutine.trace


def test_core_registers_handlers_only():
    from pyro.poutine.plugin import HANDLER_FUNCTIONS, MESSENGER_CLASSES

    reg = plugins.get_registry("handlers")
    mine = {name for name, _, provider in reg.items() if provider == "core"}
    assert mine == set(HANDLER_FUNCTIONS + MESSENGER_CLASSES)
    for name in MESSENGER_CLASSES:
        assert issubclass(reg.get(name), poutine.Messenger), name
    for name in HANDLER_FUNCTIONS:
        assert callable(reg.get(name)) and not inspect.isclass(reg.get(name)), name
    for name in ("Trace", "Messenger", "CondIndepStackFrame", "apply_stack", "unwrap"):
        assert name not in reg and hasattr(poutine, name)
    assert "Trace," not in plugins.format_plugins()


def test_registries_hold_callables_and_say_what_is_missing(hand_registered):
    class NotCallable:
        @hookimpl
        def pyro_register_handlers(self, registry):
            registry.add("threshold", 0.5)

    hand_registered(NotCallable(), "numbers")
    with pytest.raises(TypeError, match="plugin 'numbers' registered handler 'threshold' as a "
                                        "float; register a class or a function"):
        plugins.get_registry("handlers")
    plugins.unregister(name="numbers")
    reg = plugins.get_registry("handlers")
    assert reg["trace"] is poutine.trace is reg.get("trace")
    assert reg.get("no_such") is None and reg.get("no_such", poutine.scale) is poutine.scale
    with pytest.raises(KeyError, match=r"no handler named 'no_such' \(installed: .*trace"):
        reg["no_such"]
    with pytest.raises(KeyError, match="no handler named 'no_such'"):
        plugins.lookup("handlers", "no_such")


def test_describe_plugins_records_what_each_plugin_registered(hand_registered):
    hand_registered(_adder("described"), "described")
    records = {rec["name"]: rec for rec in plugins.describe_plugins()}
    assert records["described"] == {
        "name": "described",
        "distribution": "(registered by hand)",
        "registered": {"handlers": ["h_described"]},
    }
    assert "trace" in records["core"]["registered"]["handlers"]


def test_add_from_registers_a_modules_names_but_the_skipped_ones(hand_registered):
    source = SimpleNamespace(h_one=poutine.scale, h_two=poutine.mask, HBase=poutine.Messenger)

    class FromModule:
        @hookimpl
        def pyro_register_handlers(self, registry):
            registry.add_from(source, ["h_one", "h_two", "HBase"], skip={"HBase"})

    hand_registered(FromModule(), "from-module")
    reg = plugins.get_registry("handlers")
    assert reg.get("h_one") is poutine.scale and reg.get("h_two") is poutine.mask
    assert reg.provider("h_two") == "from-module" and "HBase" not in reg
