"""The DoFn shape of ScoreDifficulty with a solver: elements arrive in fixed-size batches and
each batch is worked through by a thread pool made in ``setup()``, so the requests in flight
scale per worker whatever the number of workers. Pool threads make no Beam calls; what a client
counted on them is drained into Beam counters (``count_stats``) on the DoFn's own thread, where
Beam's metrics context lives (Draft does the same on stages/parallel.py's pool)."""
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam
from apache_beam.metrics import Metrics


def in_batches(size: int) -> beam.BatchElements:
    """Batches of exactly ``size`` elements (the last one smaller)."""
    return beam.BatchElements(min_batch_size=size, max_batch_size=size)


class ThreadedBatchFn(beam.DoFn):
    """Base of a DoFn whose ``process(batch)`` hands the batch's work to ``self.pool``."""
    thread_prefix = "batch"

    def __init__(self, threads: int):
        self.threads = threads

    def setup(self):
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix=self.thread_prefix)

    def teardown(self):
        self.pool.shutdown()


def count_stats(namespace: str, stats: dict) -> None:
    """Add ``stats`` (name -> n, as a client's ``drain_stats()`` gives) to Beam counters."""
    for name, n in stats.items():
        Metrics.counter(namespace, name).inc(n)
