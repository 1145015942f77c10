"""Errors augkit raises for bad input.

Every error names where the problem is (file and line, recipe key, component) and what was expected.
The command line prints ``str(error)`` and exits with status 2; nothing else is printed.
"""

from __future__ import annotations


class AugkitError(Exception):
    """Base class of every error augkit raises on purpose."""

    exit_code = 2


class RecipeError(AugkitError):
    """A recipe is malformed: TOML syntax, unknown or missing keys, wrong types, unknown components.

    ``problems`` lists every mistake found (a recipe is checked as a whole, so one run of ``augkit
    validate`` reports them all); the message shows each on its own line."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems) if problems else [message]
        super().__init__(message)

    @classmethod
    def collected(cls, source: str, problems: list[str]) -> "RecipeError":
        if len(problems) == 1:
            return cls(problems[0], problems)
        return cls(f"{source}: {len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems), problems)


class DataError(AugkitError):
    """Input data is malformed or missing. The message names the file and, where it can, the line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.path, self.line = path, line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class PluginError(AugkitError):
    """A plugin or component could not be found, loaded, or is ambiguous."""


class ParamError(AugkitError):
    """A component parameter has the wrong type or value; the message names the key. ``problems`` lists
    every mistake found in one parameter table (the message joins them)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems) if problems else [message]
        super().__init__(message)


class RunError(AugkitError):
    """A run cannot start or continue (e.g. the output folder is not empty and neither --resume nor --force)."""


def did_you_mean(word: str, candidates) -> str:
    """Return ' (did you mean "x"?)' when a close candidate exists, else ''."""
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
