"""What each case must return, from up to four independent sources that must all agree.

- ``definition``: the documented index formula, evaluated by NumPy fancy indexing (no reshape or
  transpose, so it shares nothing with the library's plan). Always available.
- ``torch``: live ``torch.nn.functional.pixel_shuffle`` / ``pixel_unshuffle`` on CPU; the extended
  options through their definition (``channels_last``: move the channel axis, ``order="DCR"``:
  permute the channels, then torch's op). Square 2-D factors only.
- ``golden``: the SHA-256 of torch's output recorded in ``golden.json``, used where torch is absent.
- ``tensorflow``: ``tf.nn.depth_to_space`` / ``space_to_depth`` for channels-last DCR cases (4-D,
  square factor of at least 2), when TensorFlow is installed.
- ``onnx``: ``DepthToSpace`` (``CRD`` and ``DCR``) and ``SpaceToDepth`` (``DCR`` only: it has no
  mode) run by ``onnx.reference.ReferenceEvaluator``, for square 2-D factors.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from subpixel import _catalog
from subpixel.conformance._backends import adapter_of
from subpixel.conformance._cases import Case, all_cases, documented_shape, installed
from subpixel.conformance._golden import GoldenVectors, load_golden
from subpixel.conformance._inputs import DTYPE_NAMES, make_input, seed_for

__all__ = ["Expected", "ReferenceBook", "compute_golden", "definition_output", "torch_output"]

_SIGNED = {"uint16": "int16", "uint32": "int32", "uint64": "int64"}


@dataclass
class Expected:
    """The expected result of one case and dtype."""

    shape: tuple[int, ...]
    data: bytes
    sources: list[str] = field(default_factory=list)
    error: str | None = None


def _definition_index(
    shape: tuple[int, ...], factors: tuple[int, ...], inverse: bool, channels_last: bool, order: str
) -> np.ndarray[Any, np.dtype[np.intp]]:
    """For each output element, the flat index of the input element it holds.

    Open (sparse) index grids broadcast against each other, so the only full-size array is the
    result: large inputs cost one index per output element.
    """
    out_shape = documented_shape(shape, factors, inverse, channels_last)
    if 0 in out_shape:
        return np.zeros(out_shape, dtype=np.intp)
    k = len(factors)
    nd = len(shape)
    channel = nd - 1 if channels_last else nd - k - 1
    spatial = list(range(nd - k - 1, nd - 1)) if channels_last else list(range(nd - k, nd))
    product = int(np.prod(factors))
    grid: list[Any] = list(np.indices(out_shape, dtype=np.intp, sparse=True))
    source = list(grid)
    if not inverse:
        small_channels = out_shape[channel]
        offset: Any = 0
        for axis, f in zip(spatial, factors, strict=True):
            offset = offset * f + grid[axis] % f
            source[axis] = grid[axis] // f
        c = grid[channel]
        source[channel] = c * product + offset if order == "CRD" else offset * small_channels + c
    else:
        small_channels = shape[channel]
        ch = grid[channel]
        if order == "CRD":
            c, offset = ch // product, ch % product
        else:
            offset, c = ch // small_channels, ch % small_channels
        source[channel] = c
        for axis, f in reversed(list(zip(spatial, factors, strict=True))):
            source[axis] = grid[axis] * f + offset % f
            offset = offset // f
    flat = np.zeros(out_shape, dtype=np.intp)
    stride = 1
    for axis in reversed(range(nd)):
        flat += source[axis] * stride
        stride *= shape[axis]
    return flat


def _batch_axes(case: Case) -> int:
    """How many leading axes are batch axes (the same rearrangement repeats along them)."""
    k = len(case.factors)
    return len(case.shape) - k - 1


def definition_output(case: Case, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Evaluate the documented index formula for ``case`` on the host array ``x``.

    The index is built for one batch item and applied to every item by one fancy index.
    """
    nb = _batch_axes(case)
    out_shape = documented_shape(case.shape, case.factors, case.inverse, case.channels_last)
    if 0 in out_shape or 0 in case.shape:  # before any index: an empty batch may hold huge items
        return np.empty(out_shape, dtype=x.dtype)
    core = case.shape[nb:]
    index = _definition_index(core, case.factors, case.inverse, case.channels_last, case.order)
    batch = int(np.prod(case.shape[:nb], dtype=np.int64))
    result: np.ndarray[Any, Any] = x.reshape(batch, -1)[:, index.reshape(-1)].reshape(out_shape)
    return result


def _to_torch(x: np.ndarray[Any, Any], dtype: str) -> Any:
    import torch

    if dtype == "bfloat16":
        return torch.from_numpy(x.view(np.int16).copy()).view(torch.bfloat16)
    if dtype in _SIGNED:  # torch has no pixel_shuffle kernels for these: move the same bits as signed
        return torch.from_numpy(x.view(_SIGNED[dtype]).copy())
    return torch.from_numpy(x.copy())


def _torch_bytes(t: Any) -> bytes:
    import torch

    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    data: bytes = t.numpy().tobytes()
    return data


def torch_output(case: Case, x: np.ndarray[Any, Any], dtype: str) -> tuple[tuple[int, ...], bytes]:
    """Run torch's op on ``x`` for ``case`` (square 2-D factors) and return (shape, bytes).

    ``channels_last`` moves the channel axis in front of the spatial axes and back;
    ``order="DCR"`` permutes the channels into CRD order first (shuffle) or after (unshuffle).
    """
    import torch

    threads = torch.get_num_threads()
    # One thread: these inputs are tiny, and a busy machine makes the thread pool's start-up cost
    # milliseconds per call. The caller's setting is restored.
    torch.set_num_threads(1)
    try:
        return _torch_output(case, x, dtype)
    finally:
        torch.set_num_threads(threads)


def _torch_output(case: Case, x: np.ndarray[Any, Any], dtype: str) -> tuple[tuple[int, ...], bytes]:
    import torch
    import torch.nn.functional as fn

    r = case.factors[0]
    t = _to_torch(x, dtype)
    if case.channels_last:
        t = torch.movedim(t, -1, -3)
    channels = t.shape[-3]
    if not case.inverse:
        if case.order == "DCR":
            c_out = channels // (r * r)
            # CRD channel c * r * r + s holds DCR channel s * c_out + c.
            perm = [s * c_out + c for c in range(c_out) for s in range(r * r)]
            t = torch.index_select(t, -3, torch.tensor(perm, dtype=torch.long))
        y = fn.pixel_shuffle(t, r)
    else:
        y = fn.pixel_unshuffle(t, r)
        if case.order == "DCR":
            # DCR channel s * channels + c is CRD channel c * r * r + s.
            perm = [c * r * r + s for s in range(r * r) for c in range(channels)]
            y = torch.index_select(y, -3, torch.tensor(perm, dtype=torch.long))
    if case.channels_last:
        y = torch.movedim(y, -3, -1)
    return tuple(y.shape), _torch_bytes(y)


@functools.lru_cache(maxsize=64)
def _onnx_evaluator(op: str, mode: str | None, blocksize: int, elem_type: int) -> Any:
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    attributes: dict[str, Any] = {"blocksize": blocksize}
    if mode is not None:
        attributes["mode"] = mode
    node = helper.make_node(op, ["x"], ["y"], **attributes)
    graph = helper.make_graph(
        [node],
        "subpixel_conformance",
        [helper.make_tensor_value_info("x", elem_type, None)],
        [helper.make_tensor_value_info("y", elem_type, None)],
    )
    return ReferenceEvaluator(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def onnx_applies(case: Case) -> bool:
    """ONNX has 2-D square blocks; ``SpaceToDepth`` only knows DCR; zero-size is left out."""
    return case.torch_native and 0 not in case.shape and not (case.inverse and case.order == "CRD")


def onnx_output(case: Case, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Run ONNX ``DepthToSpace`` / ``SpaceToDepth`` on ``x`` (as NCHW) for ``case``."""
    from onnx import helper

    try:
        elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    except (KeyError, TypeError, ValueError):  # a dtype ONNX does not map: move the same bits
        x = x.view(f"uint{8 * x.dtype.itemsize}")
        elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    y = np.moveaxis(x, -1, -3) if case.channels_last else x
    batch = y.shape[:-3]
    four = y.reshape((-1, *y.shape[-3:]))
    if case.inverse:
        evaluator = _onnx_evaluator("SpaceToDepth", None, case.factors[0], elem)
    else:
        evaluator = _onnx_evaluator("DepthToSpace", case.order, case.factors[0], elem)
    out = np.asarray(evaluator.run(None, {"x": four})[0])
    out = out.reshape((*batch, *out.shape[1:]))
    return np.moveaxis(out, -3, -1) if case.channels_last else out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ReferenceBook:
    """Inputs and expected outputs, computed once per case and dtype and shared by all rows.

    Parameters
    ----------
    use_torch : bool or None
        Use live torch; ``None`` means "when installed".
    use_onnx : bool or None
        Use ONNX's reference evaluator; ``None`` means "when installed".
    golden : GoldenVectors or None
        Stored torch results; by default the ones shipped with the package.
    """

    def __init__(
        self, use_torch: bool | None = None, use_onnx: bool | None = None, golden: GoldenVectors | None = None
    ) -> None:
        self.use_torch = installed("torch") if use_torch is None else use_torch
        self.use_onnx = installed("onnx") if use_onnx is None else use_onnx
        #: The installed backends whose own op is a reference for the cases it defines.
        self.peer_references = tuple(
            adapter
            for adapter in (adapter_of(entry) for entry in _catalog.entries() if entry.installed())
            if adapter.peer_reference
        )
        self.golden = load_golden() if golden is None else golden
        self.deviations: dict[str, str] = {}
        self.source_counts: dict[str, int] = {}
        self._inputs: dict[tuple[str, str], np.ndarray[Any, Any]] = {}
        self._expected: dict[tuple[str, str], Expected] = {}
        self._counted_elsewhere: set[tuple[str, str]] = set()

    def input(self, case: Case, dtype: str) -> np.ndarray[Any, Any]:
        """Return the host input of ``case`` in ``dtype`` (cached; callers must not modify it)."""
        key = (case.id, dtype)
        x = self._inputs.get(key)
        if x is None:
            seed = seed_for(f"{case.id}:{dtype}")
            broadcast = case.broadcast_axis
            if broadcast is not None:  # equal along the broadcast axis
                one = make_input((*case.shape[:broadcast], 1, *case.shape[broadcast + 1 :]), dtype, seed)
                x = np.ascontiguousarray(np.broadcast_to(one, case.shape))
            else:
                x = make_input(case.shape, dtype, seed)
            x.flags.writeable = False
            self._inputs[key] = x
        return x

    def extra_input(self, case: Case, dtype: str, role: str, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
        """Return a second deterministic array for ``case`` (a tangent, a cotangent), cached."""
        key = (f"{case.id}:{role}", dtype)
        x = self._inputs.get(key)
        if x is None:
            x = make_input(shape, dtype, seed_for(f"{case.id}:{dtype}:{role}"))
            x.flags.writeable = False
            self._inputs[key] = x
        return x

    def expected(self, case: Case, dtype: str) -> Expected:
        """Return what ``case`` must produce in ``dtype`` (cached)."""
        key = (case.id, dtype)
        found = self._expected.get(key)
        if found is None:
            found = self._compute(case, dtype)
            self._expected[key] = found
            for source in found.sources:
                self.source_counts[source] = self.source_counts.get(source, 0) + 1
        return found

    def sources(self) -> dict[tuple[str, str], list[str]]:
        """Return the references used for each ``(case id, dtype)`` computed so far."""
        return {key: list(found.sources) for key, found in self._expected.items()}

    def add_sources(self, found: dict[tuple[str, str], list[str]]) -> None:
        """Count the references another book (a worker's) used, once per case and dtype."""
        for key, sources in found.items():
            if key in self._expected or key in self._counted_elsewhere:
                continue
            self._counted_elsewhere.add(key)
            for source in sources:
                self.source_counts[source] = self.source_counts.get(source, 0) + 1

    def _compute(self, case: Case, dtype: str) -> Expected:
        x = self.input(case, dtype)
        if case.round_trip:
            return Expected(case.shape, x.tobytes(), ["input"])
        shape = documented_shape(case.shape, case.factors, case.inverse, case.channels_last)
        result = Expected(shape, definition_output(case, x).tobytes(), ["definition"])
        disagree: list[str] = []
        if case.torch_native and self.use_torch:
            torch_shape, torch_data = torch_output(case, x, dtype)
            if torch_shape != shape and 0 in shape:
                self.deviations[case.id] = (
                    f"torch returned shape {torch_shape} for {case.describe()}; the documented shape "
                    f"{shape} is the reference"
                )
            elif (torch_shape, torch_data) != (shape, result.data):
                disagree.append(f"torch gives shape {torch_shape} sha256 {_sha(torch_data)[:12]}")
            result.sources.append("torch")
        elif case.torch_native:
            stored = self.golden.lookup(case.id, dtype)
            if stored is not None:
                golden_shape, golden_sha, recorded_shape = stored
                if recorded_shape is not None and recorded_shape != golden_shape:
                    self.deviations[case.id] = (
                        f"torch {self.golden.torch_version} returned shape {recorded_shape} for "
                        f"{case.describe()} (recorded); the documented shape {golden_shape} is the reference"
                    )
                if (golden_shape, golden_sha) != (shape, _sha(result.data)):
                    disagree.append(f"golden vector says shape {golden_shape} sha256 {golden_sha[:12]}")
                result.sources.append("golden")
        if self.use_onnx and onnx_applies(case):
            out = onnx_output(case, x)
            if (tuple(out.shape), out.tobytes()) != (shape, result.data):
                disagree.append(f"onnx gives shape {tuple(out.shape)} sha256 {_sha(out.tobytes())[:12]}")
            result.sources.append("onnx")
        for peer in self.peer_references:
            own = peer.reference(case, x)
            if own is None:
                continue
            if (tuple(own.shape), own.tobytes()) != (shape, result.data):
                digest = _sha(own.tobytes())[:12]
                disagree.append(f"{peer.name} gives shape {tuple(own.shape)} sha256 {digest}")
            result.sources.append(peer.name)
        if disagree:
            result.error = (
                f"references disagree for {case.describe()} in {dtype}: definition gives shape {shape} "
                f"sha256 {_sha(result.data)[:12]}; " + "; ".join(disagree)
            )
        return result


def compute_golden() -> GoldenVectors:
    """Record torch's result for every torch-defined case and its dtypes (needs torch).

    Autodiff cases derive their expectations from the definition and are not recorded.
    """
    import torch

    book = ReferenceBook(use_torch=True, use_onnx=False, golden=GoldenVectors())
    vectors = GoldenVectors(torch.__version__.split("+")[0])
    for case in all_cases():
        if case.round_trip or case.autodiff or case.error or not case.torch_native:
            continue
        shape = documented_shape(case.shape, case.factors, case.inverse, case.channels_last)
        entry: dict[str, Any] = {"shape": list(shape), "sha256": {}}
        for dtype in case.dtypes or DTYPE_NAMES:
            torch_shape, data = torch_output(case, book.input(case, dtype), dtype)
            if torch_shape != shape:
                entry["torch_shape"] = list(torch_shape)
            entry["sha256"][dtype] = hashlib.sha256(data).hexdigest()
        vectors.cases[case.id] = entry
    return vectors
