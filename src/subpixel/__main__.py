"""Command line: ``python -m subpixel {demo,conformance,deploy,bench} ...``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from subpixel import __version__
from subpixel._cli import install_hint, run_guarded
from subpixel._commands import bench_parser, conformance_parser, deploy_parser

COMMANDS = {
    "demo": ("subpixel._demo", "show every installed backend agreeing with torch on the ESPCN example"),
    "conformance": ("subpixel.conformance.cli", "run the bit-for-bit conformance matrix"),
    "deploy": (
        "subpixel.conformance.deploy.cli",
        "export layers and native ops to ONNX, OpenVINO, LiteRT, ... and compare the deployed bytes",
    ),
    "bench": ("subpixel.benchmark.cli", "time shuffles against a memory copy and torch's own op"),
}

#: The parsers of the commands whose modules need a library: ``--help`` works without it.
PARSERS: dict[str, Callable[[None, str], argparse.ArgumentParser]] = {
    "conformance": conformance_parser,
    "deploy": deploy_parser,
    "bench": bench_parser,
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
        return _cannot_run(name, args[1:], error.name or str(error))
    status: int = module.main(args[1:])
    return status


def _cannot_run(name: str, args: list[str], missing: str) -> int:
    """Answer a command whose library is missing: ``--help`` works; anything else is one line, status 2."""
    problem = f"needs {missing}, which is not installed: {install_hint(missing)}"
    parser = PARSERS.get(name)
    if parser is not None:
        try:  # --help prints the options (status 0); a bad option is reported as usual (status 2)
            parser(None, problem).parse_args(args)
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else 2
    print(f"python -m subpixel {name}: {problem}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(run_guarded("python -m subpixel", main))
