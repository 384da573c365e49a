"""The peer matrix: other libraries' pixel shuffles through the same cases, bit for bit.

Each peer runs in its own process (Keras reads its backend from the environment at import):

    python conformance/peers.py --out conformance/reports/peers.md

Peers: ``torch.nn.functional``, ``einops.rearrange``, ``keras.ops.depth_to_space`` /
``space_to_depth`` on the JAX, torch and TensorFlow backends, ``onnx.reference`` and onnxruntime
``DepthToSpace`` / ``SpaceToDepth`` in both modes, and MONAI's ``pixelshuffle``. A peer that is
not installed is listed as such. Each case is *agrees* (same bytes, shape and dtype), *differs*
(another result), *unsupported* (the peer raised) or *n/a* (an option the peer does not have).
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("factors", "large", "ndim", "unshuffle", "zero_size", "layouts", "round_trip", "channels_last",
            "dcr", "nd_tuple")  # fmt: skip
DTYPES = ("uint8", "int32", "float16", "bfloat16", "float32", "float64", "complex64")
ALL = frozenset({"inverse", "channels_last", "order", "tuple_factors"})

#: name -> (modules required, environment, why it may differ: what the report says up front)
PEERS: dict[str, tuple[tuple[str, ...], dict[str, str], str]] = {
    "torch.nn.functional": (("torch",), {}, "the reference itself: CRD, channels first, square factor"),
    "einops.rearrange": (("einops",), {}, "a pattern written per case: any order, layout and factors"),
    "keras.ops (jax)": (("keras", "jax"), {"KERAS_BACKEND": "jax"}, "called for every order and layout"),
    "keras.ops (torch)": (
        ("keras", "torch"),
        {"KERAS_BACKEND": "torch"},
        "called for every order and layout",
    ),
    "keras.ops (tensorflow)": (
        ("keras", "tensorflow"),
        {"KERAS_BACKEND": "tensorflow"},
        "called for every order and layout",
    ),
    "onnx.reference (opset 28)": (("onnx",), {}, "DepthToSpace / SpaceToDepth with mode=CRD or DCR"),
    "onnxruntime (opset 28)": (
        ("onnx", "onnxruntime"),
        {},
        "DepthToSpace / SpaceToDepth with mode=CRD or DCR",
    ),
    "monai pixelshuffle": (("monai",), {}, "N-d, one square factor, one batch axis, CRD"),
}


def _einops(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    import einops

    k = len(factor) if isinstance(factor, tuple) else 2
    factors = factor if isinstance(factor, tuple) else (factor,) * k
    big = " ".join(f"(s{i} f{i})" for i in range(k))
    small = " ".join(f"s{i}" for i in range(k))
    offsets = " ".join(f"f{i}" for i in range(k))
    depth = f"(c {offsets})" if order == "CRD" else f"({offsets} c)"
    deep = f"... {small} {depth}" if channels_last else f"... {depth} {small}"
    wide = f"... {big} c" if channels_last else f"... c {big}"
    pattern = f"{wide} -> {deep}" if inverse else f"{deep} -> {wide}"
    sizes = {f"f{i}": f for i, f in enumerate(factors)}
    return einops.rearrange(x, pattern, **sizes)


def _torch(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    import torch.nn.functional as fn

    return (fn.pixel_unshuffle if inverse else fn.pixel_shuffle)(x, factor)


def _keras(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    import keras

    run = keras.ops.space_to_depth if inverse else keras.ops.depth_to_space
    y = run(x, factor, data_format="channels_last" if channels_last else "channels_first")
    return keras.ops.convert_to_numpy(y)


@functools.lru_cache(maxsize=64)
def _onnx_model(op: str, mode: str, block: int, elem: int) -> bytes:
    from onnx import helper

    node = helper.make_node(op, ["x"], ["y"], blocksize=block, mode=mode)
    graph = helper.make_graph(
        [node],
        "peer",
        [helper.make_tensor_value_info("x", elem, None)],
        [helper.make_tensor_value_info("y", elem, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 28)])
    model.ir_version = 11
    data: bytes = model.SerializeToString()
    return data


def _onnx(runtime: bool) -> Callable[..., Any]:
    def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        from onnx import helper

        elem = helper.np_dtype_to_tensor_dtype(x.dtype)
        data = _onnx_model("SpaceToDepth" if inverse else "DepthToSpace", order, factor, elem)
        if runtime:
            onnxruntime: Any = importlib.import_module("onnxruntime")
            session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
            return np.asarray(session.run(None, {"x": x})[0])
        import onnx
        from onnx.reference import ReferenceEvaluator

        evaluator: Any = ReferenceEvaluator(onnx.load_from_string(data))
        return np.asarray(evaluator.run(None, {"x": x})[0])

    return call


def _monai(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    pixelshuffle: Any = importlib.import_module("monai.networks.utils").pixelshuffle
    return pixelshuffle(x, spatial_dims=x.ndim - 2, scale_factor=factor)


def _implementation(name: str) -> Any:
    from subpixel.conformance import Implementation

    table: dict[str, tuple[str, Callable[..., Any], frozenset[str]]] = {
        "torch.nn.functional": ("torch", _torch, frozenset({"inverse"})),
        "einops.rearrange": ("numpy", _einops, ALL),
        "keras.ops (jax)": ("numpy", _keras, frozenset({"inverse", "channels_last", "order"})),
        "keras.ops (torch)": ("numpy", _keras, frozenset({"inverse", "channels_last", "order"})),
        "keras.ops (tensorflow)": ("numpy", _keras, frozenset({"inverse", "channels_last", "order"})),
        "onnx.reference (opset 28)": ("numpy", _onnx(False), frozenset({"inverse", "order"})),
        "onnxruntime (opset 28)": ("numpy", _onnx(True), frozenset({"inverse", "order"})),
        "monai pixelshuffle": ("torch", _monai, frozenset()),
    }
    backend, call, options = table[name]
    return Implementation(name, backend, call, options=options)


def run_peer(name: str) -> dict[str, Any]:
    """Run every case of :data:`FAMILIES` in :data:`DTYPES` on one peer (in this process)."""
    from subpixel.conformance import ReferenceBook, all_cases, run_case
    from subpixel.conformance._backends import ADAPTERS

    impl = _implementation(name)
    adapter = ADAPTERS[impl.backend]
    book = ReferenceBook()
    counts: collections.Counter[str] = collections.Counter()
    examples: dict[str, dict[str, str]] = {}
    started = time.perf_counter()
    for case in all_cases():
        if case.family not in FAMILIES:
            continue
        for dtype in DTYPES:
            if adapter.dtype_problem(dtype, "cpu") is not None:
                continue
            result = run_case(impl, adapter, "cpu", dtype, case, book)
            if result.ok is None:
                verdict = "n/a"
            elif result.ok:
                verdict = "agrees"
            elif ": raised " in result.message:
                verdict = "unsupported"
            else:
                verdict = "differs"
            counts[f"{case.family}:{verdict}"] += 1
            counts[verdict] += 1
            if verdict in ("differs", "unsupported"):
                key = f"{case.family}:{verdict}"
                examples.setdefault(key, {"case": case.id, "dtype": dtype, "message": result.message[:300]})
    return {"counts": dict(counts), "examples": examples, "seconds": round(time.perf_counter() - started, 1)}


def _drive(out: Path) -> int:
    results: dict[str, Any] = {}
    for name, (modules, env, note) in PEERS.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if missing:
            results[name] = {"missing": missing, "note": note}
            print(f"{name}: not installed ({', '.join(missing)})", flush=True)
            continue
        command = [sys.executable, __file__, "--peer", name]
        environment = {**os.environ, **env}
        done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            results[name] = {"error": done.stderr.strip().splitlines()[-1:] or ["?"], "note": note}
        else:
            results[name] = {**json.loads(done.stdout.strip().splitlines()[-1]), "note": note}
        print(f"{name}: {results[name].get('counts', results[name])}", flush=True)
    out.write_text(_markdown(results), encoding="utf-8")
    (out.with_suffix(".json")).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


def _markdown(results: dict[str, Any]) -> str:
    import subpixel

    lines = [
        "# Peer matrix",
        "",
        f"Other libraries' pixel shuffles through the conformance cases of subpixel {subpixel.__version__} "
        f"(families {', '.join(FAMILIES)}; dtypes {', '.join(DTYPES)}), compared bit for bit with "
        "torch's result and the documented index formula. Produced by `nox -s peers` "
        "(`conformance/peers.py`) on "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}; load average "
        f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}.",
        "",
        "*agrees*: same bytes, shape and dtype; *differs*: another result; *unsupported*: the peer "
        "raised; *n/a*: the case needs an option the peer does not have.",
        "",
        "| peer | how it is called | agrees | differs | unsupported | n/a |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "missing" in r:
            lines.append(f"| {name} | {r['note']} | not installed ({', '.join(r['missing'])}) | | | |")
            continue
        if "error" in r:
            lines.append(f"| {name} | {r['note']} | failed to run: {' '.join(r['error'])} | | | |")
            continue
        c = r["counts"]
        lines.append(
            f"| {name} | {r['note']} | {c.get('agrees', 0)} | {c.get('differs', 0)} | "
            f"{c.get('unsupported', 0)} | {c.get('n/a', 0)} |"
        )
    lines += ["", "## Where each differs", ""]
    for name, r in results.items():
        if "counts" not in r:
            continue
        c = r["counts"]
        lines += [f"### {name}", ""]
        rows = []
        for family in FAMILIES:
            parts = [f"{c.get(f'{family}:{v}', 0)} {v}" for v in ("agrees", "differs", "unsupported", "n/a")]
            rows.append(f"| {family} | " + " | ".join(parts) + " |")
        lines += ["| family | agrees | differs | unsupported | n/a |", "|---|---|---|---|---|", *rows, ""]
        for key, example in sorted(r["examples"].items()):
            message = example["message"].replace("|", "\\|")
            lines.append(f"- {key} (first: `{example['case']}` {example['dtype']}): {message}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Drive every peer (or run one with ``--peer`` and print its JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=list(PEERS), help="run one peer here and print JSON")
    parser.add_argument("--out", type=Path, default=ROOT / "conformance" / "reports" / "peers.md")
    args = parser.parse_args(argv)
    if args.peer:
        print(json.dumps(run_peer(args.peer)))
        return 0
    return _drive(args.out)


if __name__ == "__main__":
    raise SystemExit(main())
