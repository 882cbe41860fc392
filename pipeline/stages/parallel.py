"""Spreading a stage's per-element work over the cores a worker process may use.

The heavy per-element work of a build (decoding and hashing, deriving views and drafting,
reading images back into shards) is native code that releases the GIL: Pillow's and OpenCV's
codecs and resamplers, numpy, hashlib. ``InOrderThreadsFn`` runs it on a thread pool made in
``setup()`` while the DoFn's own thread keeps feeding it and passes results on in the order the
elements arrived: the outputs are those of the one-thread DoFn, element for element, whatever
the number of threads. Beam's work per element (coders, fused DoFns, counters) stays on the
DoFn's thread and overlaps with the pool's. benchmarks/README.md has the measurements that
chose threads over Beam's multi-process mode.
"""
import collections
import os
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from .base import Failed, attempt
from .progress import Progress

# Elements in flight per thread: enough that no thread waits while the DoFn's thread handles a
# result, few enough that memory holds a handful of decoded images per thread.
IN_FLIGHT_PER_THREAD = 4


def available_cores() -> int:
    """The cores this process may run on (its affinity: a build under ``taskset -c 0`` has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def thread_pool(threads, name: str) -> tuple:
    """(pool, elements to keep in flight): a pool of ``threads`` (None: ``available_cores()``),
    or no pool (None) for one thread, whose work then runs inline."""
    threads = threads or available_cores()
    return (ThreadPoolExecutor(threads, thread_name_prefix=name) if threads > 1 else None,
            threads * IN_FLIGHT_PER_THREAD)


def in_order(pool, work, items, in_flight: int):
    """``work(item)`` for each of ``items`` on ``pool`` (None: inline), ``in_flight`` at a time,
    the results in the items' order."""
    if pool is None:
        yield from map(work, items)
        return
    pending = collections.deque()
    for item in items:
        pending.append(pool.submit(work, item))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def windowed(output):
    """An output of finish_bundle, which Beam needs windowed (a build has one global window)."""
    if isinstance(output, beam.pvalue.TaggedOutput):
        return beam.pvalue.TaggedOutput(output.tag, windowed(output.value))
    return WindowedValue(output, MIN_TIMESTAMP, (GlobalWindow(),))


class PooledFn(beam.DoFn):
    """Base of a DoFn that works on a thread pool made in ``setup()`` (``thread_pool``: ``threads``
    None means every core the worker process may use; one thread means no pool) and, given
    ``progress_seconds``, prints a progress line at that interval while it works. Subclasses set
    ``stage``, which names the pool's threads, and the line's ``progress_label`` and ``progress_unit``."""
    stage = ""
    progress_label = progress_unit = ""

    def __init__(self, threads=None, progress_seconds=None):
        self.threads, self.progress_seconds = threads, progress_seconds

    def setup(self):
        self.pool, self.in_flight = thread_pool(self.threads, self.stage)
        self.progress = Progress(self.progress_label, self.progress_unit, self.progress_seconds) \
            if self.progress_seconds else None

    def teardown(self):
        if self.pool:
            self.pool.shutdown()
        if self.progress:
            self.progress.stop()

    def expect(self, total: int) -> None:
        """Tell the progress line how many elements the stage has in all."""
        if self.progress:
            self.progress.expect(total)


class InOrderThreadsFn(PooledFn):
    """Base of a DoFn whose ``work(element)`` (no Beam calls: it runs on a pool thread) is
    followed by ``emit(element, result)`` (on the DoFn's thread: outputs, counters). Subclasses
    set ``stage`` and ``subjects(element)`` (whom an internal_error reject names); the stage
    gives ``process`` the count of its elements as the side input ``total``."""

    def start_bundle(self):
        self.pending = collections.deque()

    def process(self, element, total: int):
        self.expect(total)
        yield from self.submit(element)

    def work(self, element):
        raise NotImplementedError

    def emit(self, element, result):
        raise NotImplementedError

    def subjects(self, element) -> list:
        raise NotImplementedError

    def submit(self, element):
        """Hand ``element`` to the pool; yields the outputs of the elements finished before it."""
        if self.pool is None:
            yield from self._outputs(element, attempt(self.work, element))
            return
        self.pending.append((element, self.pool.submit(attempt, self.work, element)))
        while len(self.pending) > self.in_flight:
            yield from self._outputs(*self._oldest())

    def finish_bundle(self):
        while self.pending:
            for output in self._outputs(*self._oldest()):
                yield windowed(output)

    def _oldest(self) -> tuple:
        element, future = self.pending.popleft()
        return element, future.result()

    def settle(self) -> None:
        """Called on the DoFn's thread once per element, whatever became of it: where a subclass
        turns what its work counted into Beam counters (an element whose work crashed had its
        requests made and paid for too)."""

    def _outputs(self, element, result):
        if self.progress:
            self.progress.advance()
        self.settle()
        if isinstance(result, Failed):
            return result.rejects(self.stage, self.subjects(element))
        return self.emit(element, result)
