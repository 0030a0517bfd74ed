"""Progress bars of MCMC chains: a plugin's (``pyro_progress_bar`` hook) or tqdm's."""
from __future__ import annotations

import sys
from typing import Any

import pyro.plugins

__all__ = ["ProgressBar", "make_progress_bar"]


class ProgressBar:
    """Minimal bar used when tqdm is not installed: prints a line every 10%."""

    def __init__(self, total: int, desc: str) -> None:
        self.total = max(int(total), 1)
        self.desc = desc
        self.n = 0
        self._next_report = 0.1
        self._postfix = ""

    def set_description(self, desc: str, refresh: bool = False) -> None:
        self.desc = desc

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        items = dict(args[0]) if args and isinstance(args[0], dict) else {}
        items.update(kwargs)
        self._postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n / self.total >= self._next_report:
            self._next_report += 0.1
            print(f"{self.desc}: {self.n}/{self.total} {self._postfix}", file=sys.stderr)

    def close(self) -> None:
        pass


def make_progress_bar(total: int, desc: str, disable: bool, position: int = 0,
                      width: int | None = None):
    """A progress bar for ``total`` iterations at line ``position``, ``width`` columns
    wide (None: the terminal's width), or None when disabled.

    A plugin implementing ``pyro_progress_bar`` decides first (its answer may be a bar or
    None); otherwise tqdm draws it (a text fallback when tqdm is missing).
    """
    hook = pyro.plugins.event_hook("pyro_progress_bar")
    if hook is not None:
        bar = hook(total=total, desc=desc, disable=disable)
        if bar is not None:
            return bar
    if disable:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return ProgressBar(total, desc)
    return tqdm(total=total, desc=desc, position=position, ncols=width,
                dynamic_ncols=width is None, leave=True)


def set_postfix(bar, info: dict) -> None:
    """Show ``info`` (name -> printable) on ``bar`` without forcing a redraw when possible."""
    try:
        bar.set_postfix(info, refresh=False)
    except TypeError:
        bar.set_postfix(**info)


def set_description(bar, desc: str) -> None:
    fn = getattr(bar, "set_description", None)
    if fn is not None:
        try:
            fn(desc, refresh=False)
        except TypeError:
            fn(desc)
