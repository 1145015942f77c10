"""Progress display: rich bars on a terminal, a plain line every few seconds otherwise."""
from __future__ import annotations

import logging
import sys
import time
from typing import Iterable, Iterator


class Progress:
    def __init__(self, log: logging.Logger | None = None, interactive: bool | None = None, interval_s: float = 10.0):
        self.log = log or logging.getLogger("augkit")
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.interval_s = interval_s

    def track(self, iterable: Iterable, total: int | None = None, description: str = "", unit: str = "it",
              size=None) -> Iterator:
        """Yield from ``iterable`` while showing progress; ``size(item)`` says how many units an item is."""
        size = size or (lambda item: 1)
        if self.interactive:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            with RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn()) as bar:
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

    def _plain(self, line: str) -> None:
        """Plain progress lines go to stderr (not a terminal: no bars) and to the run log."""
        print(line, file=sys.stderr, flush=True)
        self.log.info("%s", line)
