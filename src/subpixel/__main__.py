"""Command line: ``python -m subpixel {demo,conformance,bench} ...``."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "demo": ("subpixel._demo", "show every installed backend agreeing with torch on the ESPCN example"),
    "conformance": ("subpixel.conformance.cli", "run the bit-for-bit conformance matrix"),
    "bench": ("subpixel.benchmark.cli", "time shuffles against a memory copy and torch's own op"),
}


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        lines = ["usage: python -m subpixel COMMAND [ARGS]", "", "commands:"]
        lines += [f"  {name:<12} {text}" for name, (_, text) in COMMANDS.items()]
        print("\n".join(lines), file=sys.stdout if args and args[0] in ("-h", "--help") else sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[args[0]][0])
    status: int = module.main(args[1:])
    return status


if __name__ == "__main__":
    raise SystemExit(main())
