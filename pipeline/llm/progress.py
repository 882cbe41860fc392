"""A progress line while drafting: done/total, rate and ETA, printed on a fixed interval."""
import sys
import threading
import time


class Progress:
    def __init__(self, label: str, interval: float, stream=None):
        self.label, self.interval, self.stream = label, interval, stream or sys.stderr
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
                self.ticker = threading.Thread(target=self._tick, daemon=True, name="draft-progress")
                self.ticker.start()

    def advance(self) -> None:
        with self.lock:
            self.done += 1

    def line(self) -> str:
        with self.lock:
            elapsed = time.monotonic() - (self.started or time.monotonic())
            rate = self.done / elapsed if elapsed > 0 else 0.0
            left = max(self.total - self.done, 0)
            eta = f"{left / rate:.0f} s" if rate else "unknown"
            return f"{self.label}: {self.done}/{self.total} contexts, {rate:.1f}/s, ETA {eta}"

    def _tick(self) -> None:
        while not self.stopped.wait(self.interval):
            print(self.line(), file=self.stream, flush=True)
            with self.lock:
                if self.done >= self.total:
                    return

    def stop(self) -> None:
        self.stopped.set()
