"""Progress reporting of MCMC through the standard ``logging`` module, as Pyro does:
chains (in this process or in child processes through a queue) log records; a
:class:`MCMCLoggingHandler` turns progress records into updates of one progress bar per
chain (:class:`ProgressBar`) and passes the other records to an ordinary handler.

A progress record is a log record whose ``msg`` is a dict with the key ``"progress"``
(the number of iterations done since the last record) and, optionally, ``"stage"``
(``"Warmup"`` / ``"Sample"``) and ``"postfix"`` (step size, acceptance rate, ...).
"""
from __future__ import annotations

import logging
import sys
from typing import Any

from .progress import make_progress_bar

__all__ = ["MCMCLoggingHandler", "MetadataFilter", "ProgressBar", "QueueHandler",
           "TqdmHandler", "initialize_logger"]

LOG_MSG = "PROGRESS"


class ProgressBar:
    """One progress bar per chain over ``warmup_steps + num_samples`` iterations, its
    description showing the stage (``Warmup [c]`` / ``Sample [c]``) and its postfix the
    kernel's fields (step size, acceptance probability).

    :param int warmup_steps: warmup iterations per chain.
    :param int num_samples: sampling iterations per chain.
    :param int min_width: narrowest bar in characters.
    :param int max_width: widest bar in characters.
    :param bool disable: draw nothing.
    :param int num_bars: number of chains (bars).
    """

    def __init__(self, warmup_steps: int, num_samples: int, min_width: int = 80,
                 max_width: int = 120, disable: bool = False, num_bars: int = 1) -> None:
        self.warmup_steps = int(warmup_steps)
        self.num_samples = int(num_samples)
        self.num_bars = int(num_bars)
        total = self.warmup_steps + self.num_samples
        width = max(min_width, min(max_width, 80))
        self.progress_bars = [
            make_progress_bar(total, self._desc("Warmup" if warmup_steps else "Sample", i),
                              disable, position=i, width=width)
            for i in range(self.num_bars)]

    def _desc(self, stage: str, i: int) -> str:
        return stage if self.num_bars == 1 else f"{stage} [{i}]"

    def set_description(self, desc: str, pos: int = 0) -> None:
        bar = self.progress_bars[pos]
        if bar is not None:
            bar.set_description(desc, refresh=False)

    def set_postfix(self, postfix: dict | None = None, pos: int = 0, **kwargs: Any) -> None:
        bar = self.progress_bars[pos]
        if bar is not None:
            bar.set_postfix(dict(postfix or {}, **kwargs), refresh=False)

    def update(self, n: int = 1, pos: int = 0) -> None:
        bar = self.progress_bars[pos]
        if bar is not None:
            bar.update(n)

    def close(self) -> None:
        for bar in self.progress_bars:
            if bar is not None:
                bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TqdmHandler(logging.StreamHandler):
    """A stream handler that writes through ``tqdm.write`` so that messages do not break
    the progress bars (plain writes when tqdm is missing).

    :param stream: where to write (default ``sys.stderr``).
    """

    def __init__(self, stream=None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            super().emit(record)
            return
        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:
            self.handleError(record)


class MetadataFilter(logging.Filter):
    """Stamps every record with ``logger_id`` (e.g. ``"CHAIN:0"``) so that one handler can
    tell the chains apart.

    :param str logger_id: the id to stamp.
    """

    def __init__(self, logger_id: str) -> None:
        super().__init__()
        self.logger_id = logger_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.logger_id = self.logger_id
        return True


class QueueHandler(logging.Handler):
    """Puts records on a (multiprocessing) queue, e.g. from a chain running in a child
    process to :func:`~pyro.infer.mcmc.api.logger_thread` in the parent.

    :param queue: anything with ``put_nowait``.
    """

    def __init__(self, queue) -> None:
        super().__init__()
        self.queue = queue

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not isinstance(record.msg, dict):  # formatted now: args may not pickle
            record.msg = self.format(record)
            record.args = None
        record.exc_info = None
        return record

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(self.prepare(record))
        except Exception:
            self.handleError(record)


def _chain_of(record: logging.LogRecord) -> int:
    logger_id = getattr(record, "logger_id", "CHAIN:0")
    try:
        return int(str(logger_id).rsplit(":", 1)[-1])
    except ValueError:
        return 0


class MCMCLoggingHandler(logging.Handler):
    """Sends progress records to ``progress_bar`` (the chain from the record's
    ``logger_id``) and every other record to ``log_handler``.

    :param logging.Handler log_handler: where ordinary messages go.
    :param ProgressBar progress_bar: the bars (None: progress records are dropped).
    """

    def __init__(self, log_handler: logging.Handler, progress_bar: ProgressBar | None = None
                 ) -> None:
        super().__init__()
        self.log_handler = log_handler
        self.progress_bar = progress_bar

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg
        if isinstance(msg, dict) and "progress" in msg:
            if self.progress_bar is None:
                return
            pos = _chain_of(record)
            if "stage" in msg:
                self.progress_bar.set_description(
                    self.progress_bar._desc(msg["stage"], pos), pos=pos)
            if msg.get("postfix"):
                self.progress_bar.set_postfix(msg["postfix"], pos=pos)
            self.progress_bar.update(int(msg["progress"]), pos=pos)
            return
        self.log_handler.handle(record)


def initialize_logger(logger: logging.Logger, logger_id: str,
                      progress_bar: ProgressBar | None = None, log_queue=None
                      ) -> logging.Logger:
    """Configure ``logger`` for one chain: records are stamped with ``logger_id``; with
    ``log_queue`` they go to the queue (a chain in a child process), else to an
    :class:`MCMCLoggingHandler` drawing ``progress_bar``.

    :returns: the logger.
    """
    for h in list(logger.handlers):
        logger.removeHandler(h)
    for f in list(logger.filters):
        logger.removeFilter(f)
    logger.addFilter(MetadataFilter(logger_id))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if log_queue is not None:
        logger.addHandler(QueueHandler(log_queue))
    else:
        handler = TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(MCMCLoggingHandler(handler, progress_bar))
    return logger
