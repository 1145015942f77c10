"""The run folder: what marks a folder as augkit's, who may write it, and how ``--force`` replaces it.

A toolkit that runs for days on a GPU box must never cost its user a file. So:

- Every run folder carries a marker, ``augkit-run.json`` (the run's id, when and from which recipe it
  was made), written when the folder is claimed. ``--resume`` and ``--force`` act only on a folder that
  has it (or on a run folder of an augkit that predates the marker, recognised by holding nothing but
  a run's files). Anything else non-empty is refused and left untouched.
- ``--force`` also refuses ``/``, the home folder and its ancestors, a symbolic link, a folder that
  holds the current working directory, the recipe, an input file, or augkit's own installation. It
  never deletes in place: a new folder is prepared beside the old run, the old run is renamed aside in
  one step, the new folder renamed in, and only then is the old one removed. A kill at any point leaves
  either the old run or the new one, never half of one.
- One writer per folder: an exclusive ``flock`` on ``.augkit.lock`` held for the whole run (the kernel
  drops it when the process dies). The lock file records the holder (PID, host, start, command), so a
  second ``run``/``--resume``/``--force`` refuses at once naming it; a record left by a holder that died
  is taken over, with a message.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import socket
import sys
import uuid
from pathlib import Path
from typing import Any, Iterable

from .errors import RunError

try:  # POSIX; augkit's training stack (NCCL, torchrun) is too
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MARKER = "augkit-run.json"
LOCK = ".augkit.lock"
#: what a run folder made by augkit before the marker existed may hold (and nothing else)
LEGACY_RUN_ENTRIES = {
    "resolved_recipe.toml",
    "overrides.txt",
    "env.json",
    "run.log",
    "results.json",
    "data",
    "stages",
    "report.html",
    "report.md",
    "report_files",
    ".ready",
    LOCK,
}
_ASIDE = ".augkit-old-"
_NEW = ".augkit-new-"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def holder_record() -> dict[str, Any]:
    """Who this process is, as the lock file records it."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": _now(), "argv": sys.argv}


# the marker ------------------------------------------------------------------------------------------
def read_marker(folder: Path) -> dict[str, Any] | None:
    """The folder's run marker, or None when it has none (or one that is not augkit's)."""
    path = folder / MARKER
    if not path.is_file() or path.is_symlink():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("augkit_run") == 1 else None


def write_marker(folder: Path, recipe: str | None) -> dict[str, Any]:
    from .atomic import atomic_write_json
    from .version import __version__

    marker = {
        "augkit_run": 1,
        "run_id": uuid.uuid4().hex,
        "created": _now(),
        "recipe": recipe,
        "augkit_version": __version__,
    }
    atomic_write_json(folder / MARKER, marker)
    return marker


def _entries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name != LOCK] if folder.is_dir() else []


def is_legacy_run(folder: Path) -> bool:
    """A run folder an augkit without markers made: its recipe and env record, and nothing but a run's
    files (temporary siblings of a killed write included)."""
    names = _entries(folder)
    return (
        "resolved_recipe.toml" in names
        and "env.json" in names
        and all(n in LEGACY_RUN_ENTRIES or (n.startswith(".") and ".tmp-" in n) for n in names)
    )


def is_run_folder(folder: Path) -> bool:
    return read_marker(folder) is not None or is_legacy_run(folder)


# the lock --------------------------------------------------------------------------------------------
class RunLock:
    """An exclusive lock on a run folder, held until ``release()`` (or the process's end)."""

    def __init__(self, fd: int, folder: Path, taken_over: dict[str, Any] | None):
        self.fd, self.folder, self.taken_over = fd, folder, taken_over

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, 0)  # an empty record: released cleanly, nobody to take over from
        except OSError:
            pass
        if fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_record(fd: int) -> dict[str, Any] | None:
    try:
        raw = os.pread(fd, 65536, 0)
        record = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def describe_holder(record: dict[str, Any] | None) -> str:
    if not record:
        return "another augkit process (it has not recorded its PID yet)"
    return f"PID {record.get('pid', '?')} on host {record.get('host', '?')} (since {record.get('since', '?')})"


def acquire(folder: Path, what: str = "run folder") -> RunLock:
    """Take the exclusive lock of ``folder`` (which must exist) or raise RunError naming its holder."""
    path = folder / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as e:
        raise RunError(f"{folder}: cannot create the lock file {LOCK}: {e.strerror or e}") from None
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            record = _read_record(fd)
            os.close(fd)
            raise RunError(
                f"{what} {folder} is in use by {describe_holder(record)}; wait for that run to end "
                "or choose another output folder"
            ) from None
    previous = _read_record(fd)
    taken_over = previous if previous and previous.get("pid") != os.getpid() else None
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder_record()) + "\n").encode("utf-8"), 0)
    return RunLock(fd, folder, taken_over)


def holder(folder: Path) -> dict[str, Any] | None:
    """The record of the process holding ``folder``'s lock now, or None when nobody holds it (without
    taking it: a report may ask while a run is going on)."""
    path = Path(folder) / LOCK
    if fcntl is None or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_record(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


# claiming a folder for a run --------------------------------------------------------------------------
def _contains(folder: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except (ValueError, OSError):
        return False


def _force_refusal(out: Path, protected: Iterable[tuple[str, Path]]) -> str | None:
    """Why ``--force`` must not clear ``out`` (resolved), or None."""
    home = Path.home().resolve()
    if out == Path(out.anchor):
        return f"{out} is the root folder"
    if out == home or _contains(out, home):
        return f"{out} is the home folder" if out == home else f"{out} holds the home folder"
    if _contains(out, Path.cwd()) and out != Path.cwd().resolve():
        return f"{out} holds the current working directory"
    own = Path(__file__).resolve().parent  # augkit's own package folder
    if _contains(out, own):
        return f"{out} holds augkit's own installation ({own.parent})"
    if _contains(out, Path(sys.prefix)):
        return f"{out} holds the Python environment in use ({sys.prefix})"
    for what, path in protected:
        if _contains(out, Path(path)):
            return f"{out} holds {what} {path}"
    return None


def claim(
    output_dir: str | os.PathLike,
    *,
    resume: bool,
    force: bool,
    recipe: str | None = None,
    protected: Iterable[tuple[str, Path]] = (),
    log=None,
) -> tuple[Path, RunLock, dict[str, Any]]:
    """Check and lock the output folder of a run; return (resolved folder, lock, marker).

    A new or empty folder is claimed (marker written). A non-empty one must be an augkit run folder and
    needs ``resume`` (kept) or ``force`` (replaced: see the module's docstring); anything else raises
    RunError and changes nothing. ``protected`` names paths ``--force`` must never remove (the recipe,
    input files)."""
    given = Path(os.path.abspath(os.path.expanduser(os.fspath(output_dir))))
    if force and given.is_symlink():
        raise RunError(
            f"--force: {given} is a symbolic link (to {os.readlink(given)}); augkit never deletes "
            "through a link: give the folder itself, or a new folder"
        )
    out = given.resolve()
    if out.exists() and not out.is_dir():
        raise RunError(f"output folder {out} exists and is not a folder")
    protected = list(protected)
    if out.is_dir() and is_run_folder(out):  # in use: say so first, whatever the flags
        record = holder(out)
        if record is not None:
            raise RunError(
                f"run folder {out} is in use by {describe_holder(record)}; wait for that run to end "
                "or choose another output folder"
            )
    if out.is_dir() and _entries(out):
        _check_existing(out, resume=resume, force=force, protected=protected)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"output folder {out} cannot be created: {e.strerror or e}") from None
    if not os.access(out, os.W_OK):
        raise RunError(f"output folder {out} cannot be written: permission denied; choose a folder you can write")
    lock = acquire(out)
    try:
        # decided again under the lock: another process may have changed the folder meanwhile
        if _entries(out):
            _check_existing(out, resume=resume, force=force, protected=protected)
            if force:
                lock = _replace(out, lock, recipe)
                return out, lock, read_marker(out) or {}
            marker = read_marker(out)
            if marker is None:  # a run of an earlier augkit: mark it now that it is known to be one
                marker = write_marker(out, recipe)
                if log is not None:
                    log.info("%s: a run folder of an earlier augkit; marked as a run (%s)", out, MARKER)
            return out, lock, marker
        _remove_leftovers(out)
        return out, lock, write_marker(out, recipe)
    except BaseException:
        lock.release()
        raise


def _check_existing(out: Path, *, resume: bool, force: bool, protected) -> None:
    if not is_run_folder(out):
        flag = "--force" if force else "--resume" if resume else ""
        raise RunError(
            f"{(flag + ': ') if flag else ''}{out} is not empty and is not an augkit run folder (no "
            f"{MARKER}); choose a new or empty folder" + ("; nothing was deleted" if force else "")
        )
    if not (resume or force):
        raise RunError(
            f"output folder {out} is not empty; pass --resume to continue that run or --force to "
            "discard it and start over"
        )
    if force:
        why = _force_refusal(out, protected)
        if why:
            raise RunError(f"--force: {why}; refusing to delete it (nothing was deleted); choose another output folder")


def _replace(out: Path, lock: RunLock, recipe: str | None) -> RunLock:
    """Replace the run in ``out`` by a new empty run: new folder prepared (marker, lock) beside it, old
    run renamed aside, new one renamed in, old one removed."""
    token = uuid.uuid4().hex[:8]
    new = out.with_name(f".{out.name}{_NEW}{token}")
    aside = out.with_name(f".{out.name}{_ASIDE}{token}")
    try:
        new.mkdir()
    except OSError as e:
        raise RunError(
            f"--force: cannot prepare the new run beside {out} ({new.parent} must be writable): "
            f"{e.strerror or e}; nothing was deleted"
        ) from None
    new_lock = acquire(new)
    try:
        write_marker(new, recipe)
        os.rename(out, aside)
    except OSError as e:
        new_lock.release()
        shutil.rmtree(new, ignore_errors=True)
        raise RunError(
            f"--force: cannot move the old run in {out} aside: {e.strerror or e}; nothing was deleted"
        ) from None
    try:
        os.rename(new, out)
    except OSError as e:  # something took the name meanwhile: put the old run back
        os.rename(aside, out)
        new_lock.release()
        shutil.rmtree(new, ignore_errors=True)
        raise RunError(
            f"--force: cannot put the new run in place of {out}: {e.strerror or e}; the old run is kept"
        ) from None
    lock.release()
    new_lock.folder = out
    try:
        if Path.cwd() == aside:  # the user ran from inside the old run: stand in the new one, as they did
            os.chdir(out)
    except OSError:
        pass
    _remove_leftovers(out)
    return new_lock


def _remove_leftovers(out: Path) -> None:
    """Remove old runs moved aside by ``--force`` (also ones a kill left behind) and unfinished new ones,
    but only augkit's: each must carry the marker or be a legacy run, and be unlocked."""
    parent = out.parent
    try:
        siblings = list(parent.iterdir())
    except OSError:
        return
    for p in siblings:
        if not (p.name.startswith(f".{out.name}{_ASIDE}") or p.name.startswith(f".{out.name}{_NEW}")):
            continue
        if p.is_symlink() or not p.is_dir() or not is_run_folder(p) or holder(p) is not None:
            continue
        shutil.rmtree(p, ignore_errors=True)
