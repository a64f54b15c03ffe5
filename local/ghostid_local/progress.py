"""A one-line progress bar for long `ghostid` commands: drawn on a terminal only, never into a file."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 24
INTERVAL_S = 0.2


def _amount(value: int, unit: str) -> str:
    return f"{value / 1e6:,.1f} MB" if unit == "bytes" else f"{value:,}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressBar:
    """`update(phase, unit, done, total)` redraws at most every INTERVAL_S; `line(text)` prints above it.

    Silent unless `stream` is a terminal, so redirected output stays clean.
    """

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.clock = clock
        self._phase = ""
        self._started = 0.0
        self._drawn_at = 0.0
        self._shown = ""

    def update(self, phase: str, unit: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if phase != self._phase:
            self._phase, self._started, self._drawn_at = phase, now, 0.0
        if now - self._drawn_at < INTERVAL_S and done < total:
            return
        self._drawn_at = now
        self._draw(self.render(phase, unit, done, total, now - self._started))

    @staticmethod
    def render(phase: str, unit: str, done: int, total: int, elapsed: float) -> str:
        rate = done / elapsed if elapsed > 0 else 0.0
        if total <= 0:
            return f"{phase} {_amount(done, unit)} {unit}"
        share = min(1.0, done / total)
        bar = "#" * int(share * WIDTH) + "." * (WIDTH - int(share * WIDTH))
        left = f"  ETA {_duration((total - done) / rate)}" if rate > 0 and done < total else ""
        speed = f"{rate / 1e6:,.1f} MB/s" if unit == "bytes" else f"{rate:,.0f}/s"
        amounts = f"{_amount(done, unit)}/{_amount(total, unit)} {unit}"
        return f"{phase:<9}[{bar}] {share:4.0%}  {amounts}  {speed}{left}"

    def line(self, text: str) -> None:
        """Prints a whole line (an error, say) without tearing the bar."""
        shown = self._shown
        self._clear()
        print(text, file=self.stream, flush=True)
        if shown:
            self._draw(shown)

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = ""

    def _draw(self, text: str) -> None:
        padding = " " * max(0, len(self._shown) - len(text))
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()
        self._shown = text

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * len(self._shown) + "\r")
            self._shown = ""
