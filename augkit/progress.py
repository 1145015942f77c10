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

    def track(self, iterable: Iterable, total: int | None = None, description: str = "", unit: str = "it") -> Iterator:
        if self.interactive:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            with RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn()) as bar:
                task = bar.add_task(description, total=total, rate="")
                start = time.perf_counter()
                for i, item in enumerate(iterable, 1):
                    yield item
                    el = time.perf_counter() - start
                    bar.update(task, advance=1, rate=f"{i / el:.1f} {unit}/s" if el > 0 else "")
            return
        start = last = time.perf_counter()
        i = 0
        for i, item in enumerate(iterable, 1):
            yield item
            now = time.perf_counter()
            if now - last >= self.interval_s:
                last = now
                of = f"/{total}" if total else ""
                self.log.info("%s: %d%s %s (%.1f %s/s)", description, i, of, unit, i / (now - start), unit)
        el = time.perf_counter() - start
        if i:
            self.log.info("%s: done, %d %s in %.1fs", description, i, unit, el)
