"""NumPy's conformance adapter: ``bfloat16`` through ml_dtypes, and masked arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from subpixel._catalog import Entry, entry
from subpixel.conformance._backends._base import ArrayBackend, RowSpec, host_copy
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
        return super().make_input(case, x, dtype, device)

    def namespace(self) -> Any:
        """array-api-compat's NumPy namespace."""
        import array_api_compat.numpy

        return array_api_compat.numpy


def _numpy() -> Entry:
    return entry("numpy")


ADAPTER = NumpyBackend
