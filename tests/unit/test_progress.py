"""The progress bar of long `ghostid` commands: on a terminal only, throttled, lines printed above it."""

from __future__ import annotations

import io

from ghostid_local.progress import INTERVAL_S, ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_drawn_unless_the_stream_is_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar.update("writing", "events", 5, 10)
    bar.close()
    bar.line("  line 3: bad")
    assert stream.getvalue() == "  line 3: bad\n"


def test_redraws_are_throttled_but_the_end_is_always_drawn() -> None:
    stream, clock = Terminal(), Clock()
    bar = ProgressBar(stream, clock)
    for done in range(1, 1001):
        clock.now += INTERVAL_S / 100
        bar.update("writing", "events", done, 1000)
    bar.close()
    frames = stream.getvalue().split("\r")[1:]
    assert 10 <= len(frames) <= 13  # every INTERVAL_S over 10 × INTERVAL_S, plus the last one
    assert frames[-1].startswith("writing  [########################] 100%  1,000/1,000 events")
    assert stream.getvalue().endswith("\n")


def test_rate_and_time_left() -> None:
    text = ProgressBar.render("writing", "events", 250, 1000, elapsed=10.0)
    assert text == "writing  [######..................]  25%  250/1,000 events  25/s  ETA 0:00:30"
    text = ProgressBar.render("checking", "bytes", 50_000_000, 200_000_000, elapsed=5.0)
    assert "50.0 MB/200.0 MB bytes" in text and "10.0 MB/s" in text and "ETA 0:00:15" in text


def test_a_line_printed_during_progress_keeps_the_bar_whole() -> None:
    stream, clock = Terminal(), Clock()
    bar = ProgressBar(stream, clock)
    bar.update("checking", "bytes", 10, 100)
    bar.line("  line 7: not valid JSON")
    out = stream.getvalue()
    before, after = out.split("  line 7: not valid JSON\n")
    assert before.startswith("\rchecking") and before.endswith("\r")
    assert after.startswith("\rchecking")
