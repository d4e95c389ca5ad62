"""Parallel extraction: worker processes extract batches of articles, the parent writes them.

Why processes: extraction is pure-Python CPU work (the GIL rules out threads). Workers are started
with spawn, not fork, because the parent holds DuckDB's threads and an open database file; each loads
the rulebook and the linker once. Results come back in article order, identical to one job. For a
large input (local feed files of ``PARALLEL_MIN_BYTES`` or more, or more than ``PARALLEL_MIN_ARTICLES``
stored articles to extract again) the workers start before the first batch is read (``warm_up``);
they exit without tearing their interpreter down.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator


def extract_batch(batch: list, rulebook, linker) -> list:
    """Events of ``batch`` in article order, in this process."""
    from signals.extract import extract_article

    out = []
    for article in batch:
        out.extend(extract_article(article, rulebook, linker))
    return out


PARALLEL_MIN_ARTICLES = 200  # smaller batches run inline: starting workers costs ~1 s each
# Local feed files of at least this many bytes (~PARALLEL_MIN_ARTICLES articles of wallstreetcn's
# ~9.4 KB) start the workers before the first batch is read (``BatchExtractor.warm_up``).
PARALLEL_MIN_BYTES = 2_000_000
CHUNKS_PER_JOB = 4  # chunks per worker and batch: evens out articles of very different lengths
_WORKER: dict[str, object] = {}
# Ctrl-C reaches the whole process group, and so does a SIGTERM sent to it (a service manager
# stopping the job): the parent stops the run and shuts the pool down; a worker's own KeyboardInterrupt
# would only print its traceback over the parent's message, and a worker killed by SIGTERM broke the
# pool under the parent (BrokenProcessPool, exit 3) before it could keep and print what it committed
_LEFT_TO_THE_PARENT = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _spawning() -> Iterator[None]:
    """Submit tasks (which may start workers) with SIGINT and SIGTERM blocked in this thread and held
    back: a signal that arrives meanwhile is handled as the block ends, once the workers started are
    known to the pool.

    A worker inherits the blocked mask (not the parent's handlers: exec resets them), so a Ctrl-C or a
    SIGTERM to the process group during its start-up waits, pending, until ``_init_worker`` ignores
    it and unblocks: no traceback, and no worker killed under the pool (BrokenProcessPool). Ignoring
    the signals here instead (as it was) lost one that reached the parent in that window (~15 ms a
    start, 1 SIGTERM in 40): the run went on to its end. A signal delivered to another thread
    meanwhile (DuckDB's) is recorded by a handler that holds it back and raised again at the end."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    # Started first: its own start-up blocks and then unblocks these signals, which would end our block
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        if signum not in held:
            held.append(signum)

    # Read before anything changes, and changed inside the try: a Python handler runs when the
    # interpreter next checks (right after a call returns, in here), so one of a signal that came just
    # before (or one delivered to another thread meanwhile) raised between the block and the try, and
    # left SIGINT and SIGTERM blocked, or `hold` as a handler, in the main thread for good (7 in 30,000)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    previous = [(sig, handler) for sig in _LEFT_TO_THE_PARENT
                if (handler := signal.getsignal(sig)) is not None]  # None: set outside Python, left alone
    try:
        for sig, _ in previous:  # held from here on: no handler of ours raises before the block ends
            signal.signal(sig, hold)
        signal.pthread_sigmask(signal.SIG_BLOCK, _LEFT_TO_THE_PARENT)
        yield
    finally:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one that was pending is held here
        finally:
            _restore(previous)
        for sig in held:
            signal.raise_signal(sig)


def _restore(handlers: list[tuple[int, object]]) -> None:
    """Put the handlers back, all of them even if a signal's own handler raises meanwhile."""
    if handlers:
        (sig, handler), *rest = handlers
        try:
            signal.signal(sig, handler)  # type: ignore[arg-type]
        finally:
            _restore(rest)


def _init_worker(rules_dir: str | None, data_dir: str | None, parent: int | None = None) -> None:
    """Each worker process loads the rulebook and the linker once, not once per chunk."""
    for sig in _LEFT_TO_THE_PARENT:  # a signal pending since start-up (see _spawning) is dropped here
        signal.signal(sig, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _LEFT_TO_THE_PARENT)
    from signals.entities import Linker
    from signals.rules import Rulebook

    if parent is not None:
        _exit_with(parent)

    _WORKER["rulebook"] = Rulebook.load(rules_dir) if rules_dir else Rulebook.load()
    _WORKER["linker"] = Linker.from_data(data_dir)
    # Leave without tearing the interpreter down: freeing the rulebook and the linker took ~0.4 s
    # of every pooled extract's close. Nothing is lost: a worker writes no files, and multiprocessing
    # has flushed stdout and stderr before exit handlers run.
    atexit.register(os._exit, 0)


def _exit_with(parent: int) -> None:
    """Exit when ``parent`` is gone. A parent killed outright (SIGKILL, an unhandled SIGTERM) never
    shuts the pool down, and its workers would wait for work forever: each keeps the task queue's pipe
    open for the others. Checked once a second by a daemon thread."""
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="signals-parent-watch", daemon=True).start()


def _ready() -> None:
    """A task that only makes its worker start (and run ``_init_worker``)."""


def _extract_chunk(articles: list) -> tuple[list, list]:
    """Events of ``articles`` in order, plus the rule warnings (regex timeouts) raised meanwhile."""
    rulebook = _WORKER["rulebook"]
    before = len(rulebook.warnings)  # type: ignore[attr-defined]
    events = extract_batch(articles, rulebook, _WORKER["linker"])
    return events, rulebook.warnings[before:]  # type: ignore[attr-defined]


class BatchExtractor:
    """Extracts batches inline, or in a process pool for large batches (started on first need).

    ``submit`` returns a callable that yields the batch's events in article order, so the parent can
    write one batch while the workers extract the next; the result is the same as with one job."""

    def __init__(self, rulebook, linker, *, jobs: int, rules_dir: str | None) -> None:
        self.rulebook, self.linker, self.jobs, self.rules_dir = rulebook, linker, max(1, jobs), rules_dir
        self._pool = None

    def submit(self, batch: list) -> Callable[[], list]:
        if self.jobs == 1 or len(batch) <= PARALLEL_MIN_ARTICLES:
            return lambda: extract_batch(batch, self.rulebook, self.linker)
        size = -(-len(batch) // (self.jobs * CHUNKS_PER_JOB))
        with _spawning():
            futures = [self._executor().submit(_extract_chunk, batch[i:i + size])
                       for i in range(0, len(batch), size)]

        def collect() -> list:
            events: list = []
            for fut in futures:
                chunk_events, warnings = fut.result()
                events.extend(chunk_events)
                for w in warnings:  # through warn: the caller's on_warning hears them, once each
                    self.rulebook.warn(w.rule_id, w.message, key=w.key)
            return events
        return collect

    def warm_up(self) -> None:
        """Start the workers now, for an input expected to be large: each loads the rulebook and the
        linker (~1 s) while the parent reads and classifies the first batch, instead of after."""
        if self.jobs > 1:
            pool = self._executor()
            with _spawning():
                for _ in range(self.jobs):  # each task finding no idle worker starts one
                    pool.submit(_ready)

    def _executor(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            data_dir = os.environ.get("SIGNALS_DATA_DIR")
            # spawn, not fork: the parent holds DuckDB's threads and an open database file
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker,
                                             initargs=(self.rules_dir, data_dir, os.getpid()))
        return self._pool

    def close(self) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        try:
            pool.shutdown(cancel_futures=True)
        except BaseException:
            # a second Ctrl-C or SIGTERM while waiting for the workers: they ignore both, and the
            # interrupted shutdown left the pool's manager thread waiting for them at exit, forever
            # (`extract -j 2` hung after two Ctrl-C 0.3 s apart); end them, so nothing waits
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
            raise
