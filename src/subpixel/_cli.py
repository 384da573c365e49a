"""Shared pieces of the command line: argument errors, output checks, progress and closed pipes.

Standard library only, so that ``python -m subpixel --help`` works without any array library.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, NoReturn

__all__ = [
    "FORMATS",
    "ArgumentParser",
    "Progress",
    "UsageError",
    "check_writable_dir",
    "check_writable_file",
    "choose",
    "install_hint",
    "load_text",
    "run_guarded",
]

#: What a command may print to stdout: a short summary (default) or a whole report.
FORMATS = ("summary", "markdown", "json")


class UsageError(Exception):
    """A bad command-line argument: the message is printed as one line and the exit status is 2."""


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see --help)`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def choose(
    option: str,
    value: str,
    known: Sequence[str],
    *,
    aliases: dict[str, str] | None = None,
    shown: Sequence[str] | None = None,
) -> list[str]:
    """Split a comma-separated option and check every name; ``all`` (or nothing) means every name.

    Raises
    ------
    UsageError
        Naming the option, the unknown values and the known ones.
    """
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if parts in ([], ["all"]):
        return list(known)
    aliases = aliases or {}
    chosen = [aliases.get(p, p) for p in parts]
    unknown = [p for p, c in zip(parts, chosen, strict=True) if c not in known]
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        msg = f"{option}: unknown {names}; choose from {', '.join(shown or known)} or all"
        raise UsageError(msg)
    return list(dict.fromkeys(chosen))


def load_text(load: Sequence[float] | None) -> str:
    """Return the load average as ``3.73, 2.10, 1.50`` (1, 5 and 15 minutes), or ``unknown``."""
    return ", ".join(f"{value:.2f}" for value in load) if load else "unknown"


def install_hint(module: str) -> str:
    """Return the command that installs ``module``: ``pip install 'subpixel[EXTRA]'`` where an extra has it.

    The extra is read from this installation's metadata (the smallest extra that requires the
    library), so the hint follows ``pyproject.toml``; a library no extra names, or a checkout
    that is not installed, gets ``pip install MODULE``.
    """
    extras = _extras_of().get(_normalised(module))
    hint = f"pip install 'subpixel[{extras[0]}]'" if extras else f"pip install {module}"
    floor = _python_floors().get(_normalised(module))
    if floor is not None and tuple(sys.version_info[:2]) < floor:
        running = ".".join(map(str, sys.version_info[:2]))
        hint += f" on Python {floor[0]}.{floor[1]} or newer (this is Python {running})"
    return hint


def _normalised(name: str) -> str:
    """Spell a distribution or import name one way (``array-api-strict`` = ``array_api_strict``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


@functools.lru_cache(maxsize=1)  # no arguments: one entry
def _requirements() -> tuple[str, ...]:
    """Return the installed package's requirements (``Requires-Dist``); none in a checkout not installed."""
    try:
        return tuple(importlib.metadata.requires("subpixel") or ())
    except importlib.metadata.PackageNotFoundError:
        return ()


@functools.lru_cache(maxsize=1)  # no arguments: one entry
def _python_floors() -> dict[str, tuple[int, int]]:
    """Library -> the Python its extras need, from their ``python_version >= 'X.Y'`` markers."""
    floors: dict[str, tuple[int, int]] = {}
    for requirement in _requirements():
        library = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        floor = re.search(r"python_version\s*>=\s*[\"'](\d+)\.(\d+)[\"']", requirement)
        if library is not None and floor is not None:
            floors[_normalised(library.group(1))] = (int(floor.group(1)), int(floor.group(2)))
    return floors


@functools.lru_cache(maxsize=1)  # no arguments: one entry
def _extras_of() -> dict[str, list[str]]:
    """Library -> the extras that require it, smallest extra first."""
    members: dict[str, set[str]] = {}
    for requirement in _requirements():
        library = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        marker = re.search(r"extra\s*==\s*[\"']([^\"']+)[\"']", requirement)
        if library is not None and marker is not None:
            members.setdefault(marker.group(1), set()).add(_normalised(library.group(1)))
    found: dict[str, list[str]] = {}
    for extra in sorted(members, key=lambda e: (len(members[e]), e)):
        for name in members[extra]:
            found.setdefault(name, []).append(extra)
    return found


def check_writable_dir(option: str, folder: Path) -> None:
    """Create ``folder`` if needed and check that a file can be written in it.

    Raises
    ------
    UsageError
        If the folder cannot be created or written.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        msg = f"{option}: cannot write in {str(folder)!r}: {error.strerror or error}"
        raise UsageError(msg) from None


def check_writable_file(option: str, path: Path) -> None:
    """Check that ``path`` can be written (its folder is created if needed), without touching it."""
    if path.is_dir():
        msg = f"{option}: {str(path)!r} is a folder, expected a file name"
        raise UsageError(msg)
    check_writable_dir(option, path.parent if str(path.parent) else Path())


class Progress:
    """Done/total with the time left: one updating line on a terminal, plain lines otherwise.

    Parameters
    ----------
    label : str
        Prefix of every line, for example ``conformance``.
    total : int
        Units of work expected.
    stream : file, optional
        Where to write (default ``sys.stderr``).
    enabled : bool
        ``False`` writes nothing.
    """

    def __init__(self, label: str, total: int, *, stream: IO[str] | None = None, enabled: bool = True):
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.live = enabled and _isatty(self.stream)
        self.started = time.monotonic()
        self._width = 0

    def eta(self) -> str:
        """Elapsed and remaining time as ``1m05s elapsed, about 2m10s left``."""
        elapsed = time.monotonic() - self.started
        text = f"{_duration(elapsed)} elapsed"
        if 0 < self.done < self.total:
            text += f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
        return text

    def update(self, done: int, message: str) -> None:
        """Record ``done`` units (never decreasing, at most ``total``) and show ``message``."""
        self.done = min(max(self.done, done), self.total)
        if not self.enabled:
            return
        line = f"{self.label}: [{self.done}/{self.total}] {message} ({self.eta()})"
        if self.live:
            columns = _columns()
            if len(line) > columns - 1:
                line = line[: columns - 2] + "…"
            padding = " " * max(self._width - len(line), 0)
            self.stream.write("\r" + line + padding)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the updating line so that the next output starts on a fresh line."""
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _columns() -> int:
    """Return the terminal's width: of stderr, else of stdout (stderr may be a log filter's pipe)."""
    streams = [stream for stream in (sys.stderr, sys.__stdout__) if stream is not None]
    fds = [stream.fileno() for stream in streams if _has_fd(stream)]
    sizes = [os.get_terminal_size(fd).columns for fd in fds if os.isatty(fd)]
    return sizes[0] if sizes else 80


def _has_fd(stream: object) -> bool:
    try:
        return isinstance(stream.fileno(), int)  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def run_guarded(prog: str, main: Callable[[], int]) -> int:
    """Run ``main`` and return its status; a bad argument is one line and status 2; a closed stdout is quiet.

    A reader that closes the pipe early (``... | head -3``) ends the command without a
    traceback: stdout is pointed at ``os.devnull`` so that the interpreter's final flush
    cannot fail again, and the status is 1, as other command-line tools do.
    """
    try:
        status = main()
        sys.stdout.flush()
    except SystemExit as done:  # argparse: --help (0) or a bad argument (2)
        return done.code if isinstance(done.code, int) else 2
    except UsageError as error:
        text = " ".join(str(error).splitlines())  # one line, whatever a user's module raised
        print(f"{prog}: error: {text} (see --help)", file=sys.stderr)
        return 2
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130
    return status
