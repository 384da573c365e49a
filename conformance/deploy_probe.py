"""Probe the slow deployment paths: torch's own op against subpixel's layers, bit for bit.

A stand-in for the deployment matrix's engine (issue 22), to measure the paths of
``subpixel.conformance.deploy._{executorch,litert_torch,tvm,mnn,ncnn,coreml}``.

    python conformance/deploy_probe.py --out /tmp/probe                 # every module
    python conformance/deploy_probe.py executorch ncnn --out /tmp/probe # some
    python conformance/deploy_probe.py tvm --python tvm=/work/venv-rt-tvm/bin/python

Each module runs in its own child process (a converter that aborts takes only its rows); the
parent writes ``probe.json`` and ``probe.md`` (one table per path, native against subpixel).
Bits: the deployed graph's output bytes against the layer's torch eager result on the same input
(NaN payloads, -0.0, inf, subnormals in float inputs), on the exported size and on other sizes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

MODULES = ("executorch", "litert_torch", "tvm", "mnn", "ncnn", "coreml")
DTYPES = ("float32", "float16", "uint8", "int8")


def cases() -> list[dict[str, Any]]:
    """(name, impl, layer factory, example shape, other shapes, dynamic axes)."""
    import torch

    import subpixel.torch as st

    nat, sub = "torch", "subpixel"
    return [
        {
            "case": "shuffle 2",
            "impl": nat,
            "make": lambda: torch.nn.PixelShuffle(2),
            "shape": (1, 8, 6, 10),
            "others": [(1, 8, 4, 14), (2, 8, 6, 10)],
            "axes": (0, 2, 3),
        },
        {
            "case": "shuffle 2",
            "impl": sub,
            "make": lambda: st.PixelShuffle(2),
            "shape": (1, 8, 6, 10),
            "others": [(1, 8, 4, 14), (2, 8, 6, 10)],
            "axes": (0, 2, 3),
        },
        {
            "case": "shuffle 3",
            "impl": nat,
            "make": lambda: torch.nn.PixelShuffle(3),
            "shape": (1, 18, 4, 6),
            "others": [(1, 18, 5, 3), (2, 18, 4, 6)],
            "axes": (0, 2, 3),
        },
        {
            "case": "shuffle 3",
            "impl": sub,
            "make": lambda: st.PixelShuffle(3),
            "shape": (1, 18, 4, 6),
            "others": [(1, 18, 5, 3), (2, 18, 4, 6)],
            "axes": (0, 2, 3),
        },
        {
            "case": "unshuffle 2",
            "impl": nat,
            "make": lambda: torch.nn.PixelUnshuffle(2),
            "shape": (1, 4, 12, 20),
            "others": [(1, 4, 8, 6), (2, 4, 12, 20)],
            "axes": (0, 2, 3),
        },
        {
            "case": "unshuffle 2",
            "impl": sub,
            "make": lambda: st.PixelUnshuffle(2),
            "shape": (1, 4, 12, 20),
            "others": [(1, 4, 8, 6), (2, 4, 12, 20)],
            "axes": (0, 2, 3),
        },
        {
            "case": "shuffle 2 DCR",
            "impl": sub,
            "make": lambda: st.PixelShuffle(2, order="DCR"),
            "shape": (1, 8, 6, 10),
            "others": [(1, 8, 4, 14)],
            "axes": (0, 2, 3),
        },
        {
            "case": "shuffle 2 channels_last",
            "impl": sub,
            "make": lambda: st.PixelShuffle(2, channels_last=True),
            "shape": (1, 6, 10, 8),
            "others": [(1, 4, 14, 8)],
            "axes": (0, 1, 2),
        },
        {
            "case": "unshuffle 2 channels_last",
            "impl": sub,
            "make": lambda: st.PixelUnshuffle(2, channels_last=True),
            "shape": (1, 12, 20, 4),
            "others": [(1, 8, 6, 4)],
            "axes": (0, 1, 2),
        },
        {
            "case": "shuffle 2x2x2 volume",
            "impl": sub,
            "make": lambda: st.PixelShuffle((2, 2, 2)),
            "shape": (1, 16, 3, 4, 5),
            "others": [(1, 16, 2, 3, 4)],
            "axes": (0, 2, 3, 4),
        },
    ]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    line = next((part for part in text.splitlines() if part.strip()), "")
    return f"{type(error).__name__}: {line[:300]}"


def _bits(path: Any, artefact: Any, layer: Any, shape: tuple[int, ...], dtype: str, seed: int) -> str:
    import numpy as np
    import torch

    from subpixel.conformance._inputs import make_input

    x = make_input(shape, dtype, seed)
    want = layer(torch.from_numpy(x.copy())).numpy()
    try:
        got = np.asarray(path.run(artefact, x.copy()))
    except Exception as error:  # the runtime's own exceptions
        return "run failed: " + _first_line(error)
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} != {want.dtype}"
    a = np.ascontiguousarray(got).view(np.uint8)
    b = np.ascontiguousarray(want).view(np.uint8)
    if np.array_equal(a, b):
        return "equal"
    differ = int(np.count_nonzero(got.view(f"u{got.itemsize}") != want.view(f"u{want.itemsize}")))
    if want.dtype.kind == "f":
        nan_only = np.array_equal(np.isnan(got), np.isnan(want)) and np.array_equal(
            np.where(np.isnan(got), 0, got).view(f"u{got.itemsize}"),
            np.where(np.isnan(want), 0, want).view(f"u{want.itemsize}"),
        )
        if nan_only:
            return f"NaN payloads differ ({differ} of {want.size})"
    return f"DIFFER ({differ} of {want.size})"


def probe_module(module_name: str, dtypes: tuple[str, ...]) -> list[dict[str, Any]]:
    from subpixel.conformance.deploy._path import Model

    module = importlib.import_module(f"subpixel.conformance.deploy._{module_name}")
    rows: list[dict[str, Any]] = []
    for path in module.PATHS:
        for spec in cases():
            for dtype in dtypes:
                row: dict[str, Any] = {
                    "path": path.name,
                    "runtime": path.runtime,
                    "case": spec["case"],
                    "impl": spec["impl"],
                    "dtype": dtype,
                }
                layer = spec["make"]().eval()
                from subpixel.conformance._inputs import make_input

                example = make_input(spec["shape"], dtype, 1)
                model = Model("torch", layer, example, dynamic_axes=spec["axes"])
                started = time.perf_counter()
                with tempfile.TemporaryDirectory(prefix="subpixel-probe-") as workdir:
                    try:
                        artefact = path.convert(model, Path(workdir))
                    except Exception as error:  # the converter's own exceptions
                        row.update(converts=False, error=_first_line(error))
                        row["seconds"] = round(time.perf_counter() - started, 2)
                        rows.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
                        continue
                    row.update(
                        converts=True,
                        ops=len(artefact.op_types),
                        op_types=artefact.op_types,
                        max_rank=artefact.max_rank,
                        dynamic=artefact.dynamic,
                    )
                    if path.runs_here:
                        row["bits"] = {
                            "x".join(map(str, shape)): _bits(path, artefact, layer, shape, dtype, seed)
                            for seed, shape in enumerate([spec["shape"], *spec["others"]], start=1)
                        }
                    else:
                        row["bits"] = {"-": "not run here"}
                row["seconds"] = round(time.perf_counter() - started, 2)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def _cell_ops(row: dict[str, Any]) -> str:
    if not row.get("converts"):
        return "**fails**: " + row.get("error", "")[:160].replace("|", "/")
    counts: dict[str, int] = {}
    for op in row["op_types"]:
        counts[op] = counts.get(op, 0) + 1
    listed = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items())
    return f"{row['ops']} ({listed}); rank {row['max_rank']}; {'dynamic' if row['dynamic'] else 'static'}"


def _cell_bits(row: dict[str, Any]) -> str:
    if not row.get("converts"):
        return "-"
    return "; ".join(f"{shape}: {result}" for shape, result in row["bits"].items()).replace("|", "/")


def markdown(rows: list[dict[str, Any]], versions: dict[str, dict[str, str]]) -> str:
    lines = ["# Slow deployment paths: torch's own op against subpixel's layers", ""]
    for module, found in versions.items():
        lines.append(f"- {module}: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    lines.append("")
    for path in dict.fromkeys(row["path"] for row in rows):
        lines += [f"## {path}", "", "| case | dtype | impl | graph | bits |", "|---|---|---|---|---|"]
        for row in rows:
            if row["path"] == path:
                cells = [row["case"], row["dtype"], row["impl"], _cell_ops(row), _cell_bits(row)]
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _versions(module_name: str) -> dict[str, str]:
    from importlib import metadata

    module = importlib.import_module(f"subpixel.conformance.deploy._{module_name}")
    found = {}
    for path in module.PATHS:
        for name in ("python", *path.distributions):
            if name == "python":
                found[name] = sys.version.split()[0]
                continue
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found[name] = "not installed"
    return found


def child(module_name: str, out: Path, dtypes: tuple[str, ...]) -> None:
    try:
        rows = probe_module(module_name, dtypes)
    except Exception:
        traceback.print_exc()
        rows = []
    out.write_text(json.dumps({"versions": _versions(module_name), "rows": rows}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"some of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--python", action="append", default=[], help="MODULE=INTERPRETER")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated (default: %(default)s)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args.child, args.out / f"{args.child}.json", tuple(args.dtypes.split(",")))
        return
    unknown = set(args.modules) - set(MODULES)
    if unknown:
        parser.error(f"unknown modules {sorted(unknown)}; known: {', '.join(MODULES)}")
    pythons = dict(item.split("=", 1) for item in args.python)
    rows: list[dict[str, Any]] = []
    versions: dict[str, dict[str, str]] = {}
    for module in args.modules or MODULES:
        python = pythons.get(module, sys.executable)
        started = time.perf_counter()
        done = subprocess.run(
            [python, __file__, "--child", module, "--out", str(args.out), "--dtypes", args.dtypes],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=(args.out / f"{module}.log").open("w"),
        )
        result = args.out / f"{module}.json"
        print(f"{module}: exit {done.returncode}, {time.perf_counter() - started:.0f} s", flush=True)
        if result.is_file():
            data = json.loads(result.read_text())
            rows += data["rows"]
            versions[module] = data["versions"]
        else:
            versions[module] = {"probe": f"child exited {done.returncode} (see {module}.log)"}
    (args.out / "probe.json").write_text(json.dumps(rows, indent=1))
    (args.out / "probe.md").write_text(markdown(rows, versions))
    print(args.out / "probe.md")


if __name__ == "__main__":
    main()
