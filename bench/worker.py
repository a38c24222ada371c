"""Run benchmark calls in a separate process that can be killed when one runs too long.

A peer's whole-path call (celer_path, glum's alpha_search, lasso_path) cannot be interrupted
from Python once it has started, and at a tight tolerance some run for many minutes. A call
through a :class:`Worker` that passes its time limit kills the process (and starts a fresh
one for the next call), so one slow setting ends that solver's sweep instead of the run.
"""

from __future__ import annotations

import multiprocessing


class CallTimeout(Exception):
    """The call ran past its limit; its worker process was killed."""


def _serve(connection):
    while True:
        try:
            function, args = connection.recv()
        except EOFError:
            return
        try:
            connection.send((True, function(*args)))
        except Exception as error:  # noqa: BLE001 - sent back and raised in the parent
            connection.send((False, error))


class Worker:
    """A spawned process that runs module-level functions: ``call(limit, function, *args)``."""

    def __init__(self):
        self._context = multiprocessing.get_context("spawn")
        self._start()

    def _start(self):
        self._connection, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        child.close()

    def call(self, limit: float, function, *args):
        """function(*args) in the worker; raises CallTimeout after ``limit`` seconds, or what it raised."""
        self._connection.send((function, args))
        if not self._connection.poll(limit):
            self._process.kill()
            self._process.join()
            self._start()
            raise CallTimeout
        ok, value = self._connection.recv()
        if not ok:
            raise value
        return value

    def close(self):
        self._connection.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
