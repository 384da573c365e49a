"""An exported file as the implementation under test: ``conformance --impl model.onnx``.

The file's first input and first output are the array in and out. What the file computes is
read from the file: its direction (a shuffle makes the spatial sizes larger), its factor per
spatial axis, its channels and dtype, and which sizes are fixed. Its layout and channel order
are declared (``channels_last``, ``order=DCR``), as a function's options are. A case the file
cannot take (another factor, dtype, direction, layout, order, channel count, or a size its
static shape fixes otherwise) is "not applicable", and the report counts those cases.

- ``.onnx``: onnxruntime (CPU);
- ``.tflite``: LiteRT (``ai_edge_litert``, else ``tf.lite``);
- ``.pte``: ExecuTorch (``executorch.runtime``).

The runtimes are imported when a file is opened, never when this module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RUNTIMES", "ArtefactRunner", "Declared", "is_artefact", "open_artefact", "runtime_modules"]

#: The runtime of each file suffix: its name and the module that must be installed.
RUNTIMES = {
    ".onnx": ("onnxruntime", "onnxruntime"),
    ".tflite": ("LiteRT", "ai_edge_litert"),
    ".pte": ("ExecuTorch", "executorch"),
}

#: The size a probe gives each dynamic axis: divisible by every factor up to 4, and by 6 and 12.
_PROBE = 12


def is_artefact(spec: str) -> bool:
    """Return whether ``spec`` names an exported file (by its suffix) rather than ``module:function``."""
    return Path(spec).suffix.lower() in RUNTIMES


def runtime_modules(path: Path) -> list[str]:
    """Return the modules that can run ``path``, in the order tried (LiteRT: tf.lite as the fallback)."""
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        return ["ai_edge_litert", "tensorflow"]
    return [RUNTIMES[suffix][1]]


_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(bfloat16)": "bfloat16",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(uint16)": "uint16",
    "tensor(int16)": "int16",
    "tensor(uint32)": "uint32",
    "tensor(int32)": "int32",
    "tensor(uint64)": "uint64",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}


@dataclass
class ArtefactRunner:
    """An opened file: what it takes, and how to run it on a NumPy array.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    runtime : str
        The runtime that runs it (``onnxruntime``, ``LiteRT (ai_edge_litert)``, ...).
    shape : tuple of int or None
        The first input's shape; None for a dynamic size.
    dtype : str
        The first input's dtype.
    run : callable
        ``run(x) -> numpy.ndarray`` on a C-contiguous NumPy array.
    inverse : bool
        Whether it unshuffles (set by :meth:`probe`).
    factor : tuple of int
        Its factor on each spatial axis (set by :meth:`probe`).
    bounds : tuple of int
        Upper bounds of the dynamic sizes, where the format has them (ExecuTorch plans memory
        for the sizes it was exported with); empty where sizes are unbounded.
    """

    path: Path
    runtime: str
    shape: tuple[int | None, ...]
    dtype: str
    run: Any
    inverse: bool = False
    factor: tuple[int, ...] = ()
    bounds: tuple[int, ...] = ()

    @property
    def static(self) -> bool:
        """Whether every size of the input is fixed."""
        return all(size is not None for size in self.shape)

    def describe(self) -> str:
        """Return one line: file, runtime, direction, factor, input shape and dtype."""
        shape = "(" + ", ".join("?" if s is None else str(s) for s in self.shape) + ")"
        what = "unshuffle" if self.inverse else "shuffle"
        factor = self.factor[0] if len(set(self.factor)) == 1 else self.factor
        return f"{self.path.name} ({self.runtime}): a {what} by {factor} of {self.dtype} input {shape}"

    def accepts(self, shape: tuple[int, ...], dtype: str) -> str:
        """Return why a case of ``shape`` and ``dtype`` cannot run here ("" when it can)."""
        if dtype != self.dtype:
            return f"{self.path.name} takes {self.dtype} input, not {dtype}"
        if len(shape) != len(self.shape) or any(
            want is not None and want != got for want, got in zip(self.shape, shape, strict=False)
        ):
            fixed = "(" + ", ".join("?" if s is None else str(s) for s in self.shape) + ")"
            return f"{self.path.name} takes input of shape {fixed}, not {shape}"
        if self.bounds and any(got > bound for got, bound in zip(shape, self.bounds, strict=True)):
            return f"{self.path.name} takes sizes up to {self.bounds}, not {shape}"
        return ""

    def probe(self, channels_last: bool) -> None:
        """Find the direction and factors by running the file once on zeros; set them.

        Raises
        ------
        ValueError
            If the output's spatial sizes are not whole multiples or fractions of the input's.
        """
        import numpy as np

        from subpixel.conformance._inputs import host_dtype

        limits = self.bounds or (_PROBE,) * len(self.shape)
        shape = tuple(limit if s is None else s for s, limit in zip(self.shape, limits, strict=True))
        if len(shape) < 3:
            msg = f"{self.path.name}: its first input has rank {len(shape)}; a shuffle needs rank 3 or more"
            raise ValueError(msg)
        y = np.asarray(self.run(np.zeros(shape, dtype=host_dtype(self.dtype))))
        spatial = range(1, len(shape) - 1) if channels_last else range(2, len(shape))
        if y.ndim != len(shape):
            msg = f"{self.path.name}: output rank {y.ndim} differs from input rank {len(shape)}"
            raise ValueError(msg)
        ins = [shape[a] for a in spatial]
        outs = [y.shape[a] for a in spatial]
        self.inverse = sum(outs) < sum(ins)
        big, small = (ins, outs) if self.inverse else (outs, ins)
        if any(s == 0 or b % s for b, s in zip(big, small, strict=True)):
            layout = "channels-last" if channels_last else "channels-first"
            msg = f"{self.path.name}: input {shape} gives output {y.shape}: not a {layout} shuffle"
            raise ValueError(msg)
        self.factor = tuple(b // s for b, s in zip(big, small, strict=True))

    def call(self, x: Any, factor: Any, inverse: bool, channels_last: bool, order: str, declared: Any) -> Any:
        """Run one case of the matrix; raise ``NotApplicableError`` for a case the file cannot take."""
        import numpy as np

        from subpixel.conformance._backends import NotApplicableError

        spatial = x.ndim - 2
        factors = tuple(factor) if isinstance(factor, tuple) else (factor,) * spatial
        why = ""
        if inverse != self.inverse:
            why = f"{self.path.name} is {'an unshuffle' if self.inverse else 'a shuffle'}"
        elif (channels_last, order) != (declared.channels_last, declared.order):
            layout = "channels-last" if declared.channels_last else "channels-first"
            why = f"{self.path.name} is declared {layout} {declared.order}"
        elif factors != self.factor:
            why = f"{self.path.name} has factor {self.factor}, not {factors}"
        else:
            why = self.accepts(tuple(x.shape), str(x.dtype))
        if why:
            raise NotApplicableError(why)
        return np.asarray(self.run(np.ascontiguousarray(x).copy()))


@dataclass(frozen=True)
class Declared:
    """The layout and channel order declared for a file (``--impl-options``)."""

    channels_last: bool = False
    order: str = "CRD"


def open_artefact(path: Path) -> ArtefactRunner:
    """Open ``path`` with its runtime.

    Raises
    ------
    ValueError
        If the file cannot be opened (the runtime's message, one line).
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".onnx":
            return _onnx(path)
        if suffix == ".tflite":
            return _tflite(path)
        return _pte(path)
    except Exception as error:  # runtimes raise their own types (onnxruntime's Fail)
        first = (str(error).strip().splitlines() or [""])[0]
        msg = f"cannot open {str(path)!r} with {RUNTIMES[suffix][0]}: {type(error).__name__}: {first}"
        raise ValueError(msg) from error


def _onnx(path: Path) -> ArtefactRunner:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    shape = tuple(s if isinstance(s, int) and s >= 0 else None for s in first.shape)
    dtype = _ONNX_TYPES.get(first.type)
    if dtype is None:
        msg = f"its first input has type {first.type}"
        raise ValueError(msg)

    def run(x: Any) -> Any:
        return session.run(None, {first.name: x})[0]

    return ArtefactRunner(path, "onnxruntime", shape, dtype, run)


def _tflite(path: Path) -> ArtefactRunner:
    import numpy as np

    from subpixel.conformance.deploy._litert_keras import interpreter, interpreter_name

    handle = interpreter(path.read_bytes())
    details = handle.get_input_details()[0]
    signature = details.get("shape_signature", details["shape"])
    shape = tuple(None if s < 0 else int(s) for s in signature)
    dtype = np.dtype(details["dtype"]).name
    index = details["index"]

    def run(x: Any) -> Any:
        if tuple(handle.get_input_details()[0]["shape"]) != x.shape:
            handle.resize_tensor_input(index, list(x.shape), strict=True)
        handle.allocate_tensors()
        handle.set_tensor(index, x)
        handle.invoke()
        return handle.get_tensor(handle.get_output_details()[0]["index"]).copy()

    return ArtefactRunner(path, f"LiteRT ({interpreter_name()})", shape, dtype, run)


def _pte(path: Path) -> ArtefactRunner:
    import torch
    from executorch.runtime import Runtime

    method = Runtime.get().load_program(path).load_method("forward")
    meta = method.metadata.input_tensor_meta(0)
    dtype = _torch_dtype(meta.dtype())
    # ExecuTorch plans memory for the sizes it was exported with: the upper bounds of dynamic
    # sizes. An axis is dynamic when the program runs with a smaller size there (a few sizes are
    # tried, so that one the factor divides is among them).
    bounds = tuple(int(s) for s in meta.sizes())
    shape: list[int | None] = []
    for axis, bound in enumerate(bounds):
        trials = dict.fromkeys(
            t for t in (bound // 2, bound - 1, bound - 2, bound - 3, bound - 4) if 0 < t < bound
        )
        shape.append(bound)
        for size in trials:
            trial = list(bounds)
            trial[axis] = size
            try:
                method.execute((torch.zeros(trial, dtype=dtype),))
            except RuntimeError:
                continue
            shape[-1] = None
            break

    def run(x: Any) -> Any:
        # A fresh tensor has the strides ExecuTorch checks (NumPy's may differ on size-0 axes).
        tensor = torch.empty(x.shape, dtype=dtype).copy_(torch.from_numpy(x))
        return method.execute((tensor,))[0].numpy()

    name = str(torch.empty(0, dtype=dtype).numpy().dtype)
    return ArtefactRunner(path, "ExecuTorch", tuple(shape), name, run, bounds=bounds)


def _torch_dtype(code: int) -> Any:
    """Return the torch dtype of an ExecuTorch scalar type code (the ``c10::ScalarType`` numbering)."""
    import torch

    table = {0: torch.uint8, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.int64}
    table |= {5: torch.float16, 6: torch.float32, 7: torch.float64, 11: torch.bool, 15: torch.bfloat16}
    return table[int(code)]
