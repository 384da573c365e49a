"""Command line: ``python -m subpixel {demo,conformance,bench} ...``."""

from __future__ import annotations

import importlib
import sys

from subpixel import __version__
from subpixel._cli import run_guarded

COMMANDS = {
    "demo": ("subpixel._demo", "show every installed backend agreeing with torch on the ESPCN example"),
    "conformance": ("subpixel.conformance.cli", "run the bit-for-bit conformance matrix"),
    "bench": ("subpixel.benchmark.cli", "time shuffles against a memory copy and torch's own op"),
}

USAGE = "usage: python -m subpixel [-h] [--version] COMMAND [ARGS]"


def _help() -> str:
    lines = [USAGE, "", "Pixel shuffle and unshuffle for every Array-API framework.", "", "commands:"]
    lines += [f"  {name:<12} {text}" for name, (_, text) in COMMANDS.items()]
    lines += [
        "",
        "options:",
        "  -h, --help   show this help and exit",
        "  --version    show the version and exit",
    ]
    lines += ["", "Run 'python -m subpixel COMMAND --help' for the options of a command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand and return its exit status (2 for bad arguments)."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(_help())
        return 0
    if args and args[0] == "--version":
        print(f"subpixel {__version__}")
        return 0
    if not args or args[0] not in COMMANDS:
        problem = "a command is required" if not args else f"unknown command {args[0]!r}"
        print(
            f"python -m subpixel: error: {problem}; choose from {', '.join(COMMANDS)} (see --help)",
            file=sys.stderr,
        )
        return 2
    name = args[0]
    try:
        module = importlib.import_module(COMMANDS[name][0])
    except ModuleNotFoundError as error:
        hint = "pip install 'subpixel[numpy]'" if error.name == "numpy" else f"pip install {error.name}"
        print(
            f"python -m subpixel {name}: needs {error.name}, which is not installed: {hint}", file=sys.stderr
        )
        return 2
    status: int = module.main(args[1:])
    return status


if __name__ == "__main__":
    raise SystemExit(run_guarded("python -m subpixel", main))
