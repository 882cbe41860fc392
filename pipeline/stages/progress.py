"""A progress line on stderr while a long stage works: done/total, rate and ETA, every
``interval`` seconds (stages/parallel.py's DoFns keep one each: hashing, drafting, writing).

Counts are those of the process that prints them. A build in one process (its heavy stages
spread over threads) counts the whole stage. A worker process
of a runner with several (a large local build, Beam's multi_processing mode, Dataflow) prints
only its own share: its line says so and gives no ETA, since the other workers' progress is
unknown to it, and it stops once its share stops moving, since the stage's total is not its. A worker
is told apart from the process that started the build by BUILD_PROCESS, an environment
variable that run.py sets to its process id and workers inherit.
"""
import os
import sys
import threading
import time

# Seconds between two lines unless a stage is given its own (the openai drafter's progress_seconds).
PROGRESS_SECONDS = 10.0
BUILD_PROCESS = "MIR_BUILD_PROCESS"


class Progress:
    def __init__(self, label: str, unit: str, interval: float, stream=None):
        self.label, self.unit, self.interval, self.stream = label, unit, interval, stream or sys.stderr
        self.total, self.done, self.started = 0, 0, None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.ticker = None

    def expect(self, total: int) -> None:
        """Start the clock when work first arrives, and the ticker unless it runs."""
        with self.lock:
            self.total = total
            if self.started is None:
                self.started = time.monotonic()
            self._ticking()

    def advance(self, n: int = 1) -> None:
        with self.lock:
            self.done += n
            self._ticking()

    def _ticking(self) -> None:
        """Start the ticker while work is left, unless it runs (called holding the lock)."""
        if self.ticker is None and self.done < self.total and not self.stopped.is_set():
            self.ticker = threading.Thread(target=self._tick, daemon=True, name=f"progress-{self.label}")
            self.ticker.start()

    def _worker(self) -> bool:
        return os.environ.get(BUILD_PROCESS, str(os.getpid())) != str(os.getpid())

    def line(self) -> str:
        with self.lock:
            elapsed = time.monotonic() - (self.started or time.monotonic())
            rate = self.done / elapsed if elapsed > 0 else 0.0
            if self._worker():
                return (f"{self.label}: {self.done} {self.unit} by worker process {os.getpid()} "
                        f"(its own share of {self.total}), {rate:.1f}/s")
            left = max(self.total - self.done, 0)
            eta = f"{left / rate:.0f} s" if rate else "unknown"
            return f"{self.label}: {self.done}/{self.total} {self.unit}, {rate:.1f}/s, ETA {eta}"

    def _tick(self) -> None:
        printed = None
        while not self.stopped.wait(self.interval):
            with self.lock:
                # A worker never counts up to the stage's total: once its share stops moving (done,
                # or the stage is over and the process has gone on to the next), it says nothing
                # more until it moves again (advance starts a ticker anew).
                if self._worker() and self.done == printed:
                    self.ticker = None
                    return
                printed = self.done
            print(self.line(), file=self.stream, flush=True)
            with self.lock:
                if self.done >= self.total:
                    self.ticker = None
                    return

    def stop(self) -> None:
        self.stopped.set()
