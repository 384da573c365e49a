"""Dask's conformance adapter: inputs in several chunkings (and NumPy's strided views as chunks)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from subpixel.conformance._backends._base import ArrayBackend, HostResult, RowSpec
from subpixel.conformance._backends.numpy import NumpyBackend
from subpixel.conformance._cases import Case
from subpixel.conformance._inputs import host_dtype

__all__ = ["ADAPTER", "DaskBackend"]


class DaskBackend(ArrayBackend):
    """Dask arrays of NumPy chunks; layouts are chunkings (plus NumPy's strided views)."""

    seconds = 70

    def rows(self) -> tuple[RowSpec, ...]:
        """Return the rows of the library's functions on dask arrays of NumPy chunks."""
        return (RowSpec(self.name, self.entry.routes, "subpixel on dask arrays of NumPy chunks", seconds=70),)

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """As NumPy."""
        return NumpyBackend().dtype_problem(dtype, device)

    def dtype_object(self, dtype: str) -> Any:
        """NumPy dtype."""
        return host_dtype(dtype)

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """Uneven chunks: about half of each axis."""
        da = self.load()
        return da.from_array(x.copy(), chunks=tuple(max(1, s // 2) for s in x.shape) or ())

    def make_input(self, case: Case, x: np.ndarray[Any, Any], dtype: str, device: str) -> tuple[Any, Any]:
        """Chunkings, and NumPy-strided views wrapped by dask."""
        da = self.load()
        if case.layout == "contiguous":
            source = x.copy()
            return da.from_array(source, chunks=tuple(max(1, s // 2) for s in x.shape) or ()), source
        if case.layout == "dask_one_chunk":
            source = x.copy()
            return da.from_array(source, chunks=source.shape or ()), source
        if case.layout in ("dask_unit_chunks", "dask_aligned_chunks", "dask_misaligned_chunks"):
            source = x.copy()
            return da.from_array(source, chunks=_dask_chunks(case, x.shape)), source
        if case.layout in (
            "torch_channels_last",
            "torch_opless_dtype",
            "numpy_masked",
            "numpy_wide_elements",
            "jax_sharded",
        ):
            return super().make_input(case, x, dtype, device)
        # NumPy-strided views as dask's source arrays.
        view, owner = NumpyBackend().make_input(case, x, dtype, device)
        return da.from_array(view, chunks=tuple(max(1, s // 2) for s in x.shape)), owner

    def namespace(self) -> Any:
        """array-api-compat's dask namespace."""
        import array_api_compat.dask.array

        return array_api_compat.dask.array

    def output_problem(self, case: Case, x: Any, y: Any) -> str | None:
        """Return a problem where a case built for the route without a rechunk changed the chunk count."""
        if case.route == "dask:chunked" and y.numblocks != x.numblocks:
            return f"output chunks {y.chunks} from input chunks {x.chunks}: rechunked"
        if case.order == "CRD" and not case.round_trip:  # a round trip rechunks for its first call
            return _oversized_chunks(x, y)
        return None

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Compare the computed result with the NumPy array the input was made from."""
        return bool(np.shares_memory(y_host.array, owner))


def _oversized_chunks(x: Any, y: Any) -> str | None:
    """Return a problem where a rechunk made chunks larger than whole groups require.

    Each axis of a shuffle keeps its place (the channel axis shrinks or grows by the product of
    the factors, a spatial axis by its factor), so a result chunk stands for ``chunk * n / m``
    elements of the input axis of ``n`` elements that became ``m``. Moving each chunk boundary to
    the nearest whole group (``max(n, m) // min(n, m)`` elements of the input) makes no chunk
    larger than the input's largest chunk on that axis plus one group. (Not for order ``'DCR'``,
    whose groups span the whole channel axis.)
    """
    for axis, (n, m) in enumerate(zip(x.shape, y.shape, strict=True)):
        if not n or not m or not x.chunks[axis]:
            continue
        group = max(n, m) // min(n, m)
        largest = max(x.chunks[axis]) + group
        implied = [c * n // m for c in y.chunks[axis]]
        if max(implied) > largest:
            return (
                f"output chunks {y.chunks[axis]} on axis {axis} stand for input chunks of up to "
                f"{max(implied)} elements, more than the largest input chunk ({max(x.chunks[axis])}) "
                f"plus one group ({group}): the rechunk merged chunks it had no need to merge"
            )
    return None


def _dask_chunks(case: Case, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Chunk sizes of the chunking layouts (see :data:`subpixel.conformance._cases.LAYOUTS`)."""
    k = len(case.factors)
    nd = len(shape)
    channel = nd - 1 if case.channels_last else nd - k - 1
    spatial = list(range(nd - k - 1, nd - 1)) if case.channels_last else list(range(nd - k, nd))
    chunks = [max(1, s) for s in shape]
    if case.layout == "dask_unit_chunks":
        chunks[channel] = 1
        return tuple(chunks)
    product = math.prod(case.factors)
    if case.layout == "dask_misaligned_chunks":  # split groups: a rechunk is needed
        chunks[channel] = 1 if case.inverse and case.order == "CRD" else max(1, product - 1)
        for axis, f in zip(spatial, case.factors, strict=True):
            chunks[axis] = f + 1 if case.inverse else chunks[axis]
        return tuple(chunks)
    # Aligned: whole groups in every chunk, and several chunks on the batch and other axes.
    for axis in range(channel if not case.channels_last else channel - k):
        chunks[axis] = 1
    if case.order == "CRD" or product == 1:
        chunks[channel] = product if not case.inverse else 1
    for axis, f in zip(spatial, case.factors, strict=True):
        chunks[axis] = 2 * f if case.inverse else 2
    return tuple(chunks)


ADAPTER = DaskBackend
