"""A progress line on stderr while a long stage works: done/total, rate and ETA, every
``interval`` seconds (stages/parallel.py's DoFns keep one each: hashing, drafting, writing).

Counts are those of the process that prints them. A build on the local runner is one process
(its heavy stages spread over threads), so its lines count the whole stage. A worker process
of a runner with several (Beam's multi_processing mode, Dataflow) prints only its own share:
its line says so and gives no ETA, since the other workers' progress is unknown to it. A worker
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
        """Start the clock (and the ticker) when work first arrives."""
        with self.lock:
            self.total = total
            if self.started is None:
                self.started = time.monotonic()
                self.ticker = threading.Thread(target=self._tick, daemon=True, name=f"progress-{self.label}")
                self.ticker.start()

    def advance(self, n: int = 1) -> None:
        with self.lock:
            self.done += n

    def line(self) -> str:
        with self.lock:
            elapsed = time.monotonic() - (self.started or time.monotonic())
            rate = self.done / elapsed if elapsed > 0 else 0.0
            if os.environ.get(BUILD_PROCESS, str(os.getpid())) != str(os.getpid()):
                return (f"{self.label}: {self.done} {self.unit} by worker process {os.getpid()} "
                        f"(its own share of {self.total}), {rate:.1f}/s")
            left = max(self.total - self.done, 0)
            eta = f"{left / rate:.0f} s" if rate else "unknown"
            return f"{self.label}: {self.done}/{self.total} {self.unit}, {rate:.1f}/s, ETA {eta}"

    def _tick(self) -> None:
        while not self.stopped.wait(self.interval):
            print(self.line(), file=self.stream, flush=True)
            with self.lock:
                if self.done >= self.total:
                    return

    def stop(self) -> None:
        self.stopped.set()
