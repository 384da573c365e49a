"""NumPy's conformance adapter: ``bfloat16`` through ml_dtypes, and masked arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from subpixel import _limits
from subpixel._catalog import Entry, entry
from subpixel.conformance._backends._base import ArrayBackend, HostResult, RowSpec, host_copy
from subpixel.conformance._cases import Case
from subpixel.conformance._inputs import host_dtype

__all__ = ["ADAPTER", "NumpyBackend", "PlanMismatchError", "plan_call"]


class PlanMismatchError(AssertionError):
    """The plan of a shape with unknown sizes disagrees with the plan of the known shape."""


def plan_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Apply :func:`subpixel.shuffle_plan` of ``x``'s shape with NumPy's reshape, transpose, reshape.

    The sizes go in as NumPy integers (any integer the ``operator.index`` protocol reads). Where
    ``x`` has batch axes, the plan of the same shape with every batch size ``None`` must be the
    same plan with ``-1`` at those sizes (:class:`PlanMismatchError` otherwise). The result is a
    copy in C order, as the library's own functions return.
    """
    from subpixel import shuffle_plan

    def plan(shape: tuple[Any, ...]) -> Any:
        return shuffle_plan(shape, factor, inverse=inverse, channels_last=channels_last, order=order)  # type: ignore[arg-type]

    known = plan(tuple(np.int64(size) for size in x.shape))
    spatial = len(factor) if isinstance(factor, tuple) else 2
    batch = x.ndim - spatial - 1
    if batch > 0:
        partial = plan((None,) * batch + tuple(x.shape[batch:]))
        unknown = (-1,) * batch
        want = (unknown + known.expand_shape[batch:], known.axes, unknown + known.collapse_shape[batch:])
        got = tuple(tuple(int(size) for size in sizes) for sizes in partial)
        if got != want:
            msg = f"the plan with {batch} batch size(s) None is {partial}, the plan of the shape {known}"
            raise PlanMismatchError(msg)
    moved = np.transpose(np.reshape(x, known.expand_shape), known.axes)
    return np.reshape(moved, known.collapse_shape).copy()


#: The layout whose every element is this many bytes: one element alone reaches the copy engine.
WIDE_BYTES = _limits.NUMPY_SMALL_BYTES


def _wide_dtype(head: np.dtype[Any]) -> np.dtype[Any]:
    """Return the structured dtype of ``WIDE_BYTES``: the case's element, then filler."""
    return np.dtype([("head", head), ("tail", f"V{WIDE_BYTES - head.itemsize}")])


def _is_wide(y: Any) -> bool:
    return isinstance(y, np.ndarray) and y.dtype.names == ("head", "tail") and y.dtype.itemsize == WIDE_BYTES


#: The byte that fills each wide element between the two copies of its number.
_FILL = 0x5A


def _indices(y: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], bool]:
    """Read the flat index written twice in each wide element, and whether its fill is intact."""
    item = y.dtype["head"].itemsize
    raw = np.ascontiguousarray(y).view(np.uint8).reshape((*y.shape, WIDE_BYTES))
    front = np.ascontiguousarray(raw[..., item : item + 8]).view("<u8").reshape(y.shape) - np.uint64(1)
    back = np.ascontiguousarray(raw[..., WIDE_BYTES - 8 :]).view("<u8").reshape(y.shape) - np.uint64(1)
    return front, back, bool((raw[..., item + 8 : WIDE_BYTES - 8] == _FILL).all())


def _widen(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Return ``x`` with elements of ``WIDE_BYTES``: its element, flat index + 1, fill, flat index + 1."""
    wide = np.empty(x.shape, _wide_dtype(x.dtype))
    raw = wide.view(np.uint8).reshape((*x.shape, WIDE_BYTES))
    raw[...] = _FILL
    wide["head"] = x
    number = np.arange(1, x.size + 1, dtype="<u8").view(np.uint8).reshape((*x.shape, 8))
    raw[..., x.dtype.itemsize : x.dtype.itemsize + 8] = number
    raw[..., WIDE_BYTES - 8 :] = number
    return wide


def _wide_problem(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> str | None:
    """Return how the wide elements of ``y`` are not whole elements of ``x``, each once, or None.

    The heads (the case's elements) are compared with the reference as in every case; here each
    output element must also carry the rest of the input element its head came from.
    """
    before, end, clean = _indices(x)
    if not (clean and np.array_equal(before, end) and np.array_equal(before.ravel(), np.arange(x.size))):
        return "modified its input (the bytes after the elements' first)"
    front, back, clean = _indices(y)
    if not (clean and np.array_equal(front, back)):
        return "an element's bytes after its first are not one input element's: copied in part"
    if not np.array_equal(np.sort(front, axis=None), np.arange(x.size)):
        return "the elements are not the input's, each once"
    heads = np.ascontiguousarray(x["head"]).reshape(-1)[front.ravel()]
    if heads.tobytes() != np.ascontiguousarray(y["head"]).tobytes():
        return "an element's first bytes and the rest come from different input elements"
    return None


class NumpyBackend(ArrayBackend):
    """NumPy (``bfloat16`` through ml_dtypes when installed)."""

    seconds = 10

    def __init__(self, entry: Entry | None = None) -> None:
        super().__init__(entry or _numpy())

    def rows(self) -> tuple[RowSpec, ...]:
        """Return the library's row and the row of its public plan applied with NumPy."""
        description = (
            "subpixel.shuffle_plan of the input's shape (NumPy integer sizes; batch sizes None give "
            "the same plan) applied with NumPy's reshape, transpose and reshape"
        )
        return (*super().rows(), RowSpec("shuffle_plan", None, description, plan_call, seconds=10))

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """NumPy has every dtype but bfloat16, which ml_dtypes adds."""
        if dtype == "bfloat16" and host_dtype(dtype) == np.dtype(np.uint16):
            return "numpy has no bfloat16 (install ml_dtypes)"
        return None

    def dtype_object(self, dtype: str) -> Any:
        """NumPy dtype, ml_dtypes' for bfloat16."""
        return host_dtype(dtype)

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """Copy, so that the input never aliases the reference book's array."""
        return host_copy(x, dtype)

    def make_input(self, case: Case, x: np.ndarray[Any, Any], dtype: str, device: str) -> tuple[Any, Any]:
        """NumPy layouts, and a masked array (a subclass) with no element masked."""
        if case.layout == "numpy_masked":
            owner = self.from_host(x, dtype, device)
            return np.ma.masked_array(owner, mask=False), owner
        if case.layout == "numpy_wide_elements":
            wide = _widen(self.from_host(x, dtype, device))
            return wide, wide
        return super().make_input(case, x, dtype, device)

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """Read ``y`` back; of wide elements, the case's element at their head."""
        return HostResult(y["head"], dtype) if _is_wide(y) else super().to_host(y, dtype)

    def dtype_matches(self, y: Any, dtype: str) -> bool:
        """Whether ``y`` has ``dtype`` (or, with wide elements, holds it at their head)."""
        if _is_wide(y):
            return bool(y.dtype == _wide_dtype(self.dtype_object(dtype)))
        return super().dtype_matches(y, dtype)

    def output_problem(self, case: Case, x: Any, y: Any) -> str | None:
        """Wide elements must come out whole (see :func:`_wide_problem`)."""
        if case.layout == "numpy_wide_elements" and _is_wide(x):
            return _wide_problem(x, y) if _is_wide(y) else "the wide elements came back as another dtype"
        return None

    def namespace(self) -> Any:
        """array-api-compat's NumPy namespace."""
        import array_api_compat.numpy

        return array_api_compat.numpy


def _numpy() -> Entry:
    return entry("numpy")


ADAPTER = NumpyBackend
