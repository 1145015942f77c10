"""Progress display: rich bars on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Iterable, Iterator


def _rich_progress(status: str):
    """A rich progress display: description, bar, count, the task's ``status`` field, elapsed and remaining."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    return RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{{task.fields[{status}]}}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


class Progress:
    def __init__(self, log: logging.Logger | None = None, interactive: bool | None = None, interval_s: float = 10.0):
        self.log = log or logging.getLogger("augkit")
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.interval_s = interval_s

    def track(
        self, iterable: Iterable, total: int | None = None, description: str = "", unit: str = "it", size=None
    ) -> Iterator:
        """Yield from ``iterable`` while showing progress; ``size(item)`` says how many units an item is."""
        size = size or (lambda item: 1)
        if self.interactive:
            with _rich_progress("rate") as bar:
                task = bar.add_task(description, total=total, rate="")
                start, i = time.perf_counter(), 0
                for item in iterable:
                    yield item
                    n = size(item)
                    i += n
                    el = time.perf_counter() - start
                    bar.update(task, advance=n, rate=f"{i / el:.1f} {unit}/s" if el > 0 else "")
            return
        start = last = time.perf_counter()
        i = 0
        for item in iterable:
            yield item
            i += size(item)
            now = time.perf_counter()
            if now - last >= self.interval_s:
                last = now
                of = f"/{total}" if total else ""
                self._plain(f"{description}: {i}{of} {unit} ({i / (now - start):.1f} {unit}/s)")
        el = time.perf_counter() - start
        if i:
            self._plain(f"{description}: done, {i} {unit} in {el:.1f}s ({i / max(el, 1e-9):.1f} {unit}/s)")

    def bar(self, description: str, total: int | None, unit: str = "it") -> "ProgressBar":
        """A bar driven by hand (``advance(n, note)``, then ``close()``): for work that is not a loop the
        caller owns, such as a training run's steps."""
        return ProgressBar(self, description, total, unit)

    def _plain(self, line: str) -> None:
        """Plain progress lines go to stderr (not a terminal: no bars) and to the run log."""
        print(line, file=sys.stderr, flush=True)
        self.log.info("%s", line)


class ProgressBar:
    """A progress display advanced by hand; a rich bar on a terminal, a plain line every
    ``interval_s`` (and a final one) otherwise. ``note`` is a short status shown beside the count."""

    def __init__(self, progress: Progress, description: str, total: int | None, unit: str):
        self.progress, self.description, self.total, self.unit = progress, description, total, unit
        self.done, self.note = 0, ""
        self.start = self.last = time.perf_counter()
        self._rich = None
        if progress.interactive:
            self._rich = _rich_progress("note")
            self._rich.start()
            self._task = self._rich.add_task(description, total=total, note="")

    def advance(self, n: int = 1, note: str | None = None) -> None:
        self.done += n
        if note is not None:
            self.note = note
        if self._rich is not None:
            self._rich.update(self._task, advance=n, note=self.note)
            return
        now = time.perf_counter()
        if now - self.last >= self.progress.interval_s:
            self.last = now
            of = f"/{self.total}" if self.total else ""
            self.progress._plain(
                f"{self.description}: {self.done}{of} {self.unit}" + (f", {self.note}" if self.note else "")
            )

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
            return
        el = time.perf_counter() - self.start
        if self.done:
            self.progress._plain(
                f"{self.description}: done, {self.done} {self.unit} in {el:.1f}s"
                + (f", {self.note}" if self.note else "")
            )
