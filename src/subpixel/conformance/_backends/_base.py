"""The adapter every backend's conformance adapter builds on, from the backend's catalog entry.

An adapter knows one library: which devices and dtypes it has, how to build every input layout
it can express (``NotApplicableError`` for the others), how to read an array back as raw bytes,
whether two arrays share memory, whether they live on the same device, and which rows of the
matrix run on it. The plain :class:`ArrayBackend` does all of it from the library's
:class:`~subpixel._catalog.Entry`; a backend with more to check (strides, chunkings, autodiff)
has its own module in this package, named by its entry's ``adapter``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from subpixel._catalog import Entry
from subpixel.conformance._cases import Case
from subpixel.conformance._inputs import DTYPES, host_dtype

__all__ = [
    "WIDE",
    "ArrayBackend",
    "Derivatives",
    "HostResult",
    "NotApplicableError",
    "RowSpec",
    "broadcast_source",
    "derivatives",
    "host_copy",
    "library_call",
]

#: The 64-bit dtypes.
WIDE = frozenset(d.name for d in DTYPES if d.wide)

#: The layouts made as views (or broadcasts) of a host array put on the device.
_VIEWS = frozenset(
    {
        "transposed",
        "transposed_channels",
        "fortran",
        "sliced",
        "offset",
        "negative_strides",
        "broadcast",
        "broadcast_channels",
        "broadcast_spatial",
    }
)

#: ``(x, factor, inverse, channels_last, order) -> array``: what a row calls.
RowCall = Callable[[Any, Any, bool, bool, str], Any]


def library_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run :func:`subpixel.pixel_shuffle` (:func:`subpixel.pixel_unshuffle` when ``inverse``)."""
    from subpixel import pixel_shuffle, pixel_unshuffle

    run = pixel_unshuffle if inverse else pixel_shuffle
    return run(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


class RowSpec(NamedTuple):
    """A built-in row of the matrix on one backend (see :class:`~subpixel.conformance.Implementation`)."""

    name: str
    #: The route prefix its cases must cover; None: the row records no route.
    routes: str | None
    description: str
    call: RowCall = library_call
    compiles: bool = False
    seconds: float | None = None
    #: ``sample(case, dtype)``: whether the row runs ``case`` in ``dtype``; None: every case.
    sample: Callable[[Case, str], bool] | None = None


class NotApplicableError(Exception):
    """The backend cannot express this input (e.g. negative strides in torch)."""


def host_copy(x: np.ndarray[Any, Any], dtype: str) -> np.ndarray[Any, Any]:
    """Return a host copy of ``x`` in the NumPy dtype that holds ``dtype`` (every bit kept)."""
    return np.array(x, dtype=host_dtype(dtype), copy=True)


class HostResult:
    """An output read back to the host: shape, dtype name and raw bytes."""

    __slots__ = ("array", "data", "dtype", "shape")

    def __init__(self, array: np.ndarray[Any, Any], dtype: str) -> None:
        self.array = array
        self.shape = tuple(int(s) for s in array.shape)
        self.dtype = dtype
        self.data = np.ascontiguousarray(array).tobytes()


Derivatives = dict[str, tuple[str, Any]]


def derivatives(checks: list[tuple[str, str, Callable[[], Any]]]) -> Derivatives:
    """Run each ``(name, kind, compute)``: ``{name: (kind, result or the exception it raised)}``.

    ``kind`` is ``forward`` (the result must equal the shuffle of the tangent) or ``reverse``
    (the inverse shuffle of the cotangent).
    """
    results: Derivatives = {}
    for name, kind, compute in checks:
        try:
            results[name] = (kind, compute())
        except NotApplicableError:  # noqa: PERF203 - a check the row cannot express (its description says)
            continue
        except Exception as error:  # any other exception is a failed check, with its text
            results[name] = (kind, error)
    return results


class ArrayBackend:
    """The adapter of one catalog entry; subclasses override what differs.

    Parameters
    ----------
    entry : Entry
        The backend's catalog entry: its conversions, devices and route prefix.
    """

    #: Whether its arrays have strides (views with gaps or reversed axes).
    strided: bool = True
    #: Whether its arrays can have negative strides.
    negative_strides: bool = True
    #: Seconds its library row took in a full CPU run (orders the worker groups); None: unknown.
    seconds: float | None = None
    #: Whether :meth:`reference` gives the library's own op for some cases (a reference).
    peer_reference: bool = False

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.name = entry.name
        self.module = entry.namespace
        self.devices = entry.devices
        #: Whether each call compiles a program per input shape and dtype (see ``compiles_per_shape``).
        self.compiles = entry.compiles_per_shape
        #: The modules its rows need installed.
        self.requires = entry.requires or (entry.namespace,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.entry!r})"

    def rows(self) -> tuple[RowSpec, ...]:
        """Return the built-in rows that run on this backend: the library's functions."""
        return (
            RowSpec(
                self.name,
                self.entry.routes,
                f"subpixel on {self.entry.title} arrays",
                compiles=self.compiles,
                seconds=self.seconds,
            ),
        )

    def load(self) -> Any:
        """Import the library and return its namespace (raises when broken)."""
        return self.entry.load()

    def device_problem(self, device: str) -> str | None:
        """Return why ``device`` cannot run, or None."""
        return self.entry.device_problem(device)

    def device_name(self, device: str) -> str:
        """Describe the device for the report header."""
        return self.entry.device_name(device)

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """Return why ``dtype`` is not run, or None."""
        try:
            self.dtype_object(dtype)
        except (AttributeError, TypeError, ValueError):
            return f"{self.name} has no {dtype}"
        return None

    def dtype_object(self, dtype: str) -> Any:
        """Return the library's dtype object for ``dtype``."""
        return getattr(self.load(), dtype)

    @contextlib.contextmanager
    def dtype_context(self, dtype: str) -> Iterator[None]:
        """Context the rows of ``dtype`` run in (JAX enables x64 here)."""
        yield

    # -- inputs ----------------------------------------------------------------------------
    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """Put a C-contiguous host array on ``device`` with every bit kept."""
        return self.entry.from_numpy(host_copy(x, dtype), device)

    def make_input(self, case: Case, x: np.ndarray[Any, Any], dtype: str, device: str) -> tuple[Any, Any]:
        """Return ``(array, owner)``: the input in the case's layout and the array owning its memory."""
        layout = case.layout
        if layout == "contiguous":
            array = self.from_host(x, dtype, device)
            return array, array
        if layout.startswith("dask_"):
            raise NotApplicableError("dask chunking applies to dask only")
        if layout == "jax_sharded":
            raise NotApplicableError("sharding applies to JAX only")
        if layout == "numpy_masked":
            raise NotApplicableError("masked arrays apply to NumPy only")
        if layout == "numpy_wide_elements":
            raise NotApplicableError("structured elements of 64 KiB apply to NumPy only")
        if layout == "torch_channels_last":
            raise NotApplicableError("torch memory formats apply to torch only")
        if layout == "torch_opless_dtype":
            raise NotApplicableError("float8, bits and complex32 dtypes apply to torch only")
        if not self.strided:
            raise NotApplicableError(f"{self.name} arrays have no strides")
        if layout == "negative_strides" and not self.negative_strides:
            raise NotApplicableError(f"{self.name} has no negative strides")
        if layout not in _VIEWS:
            msg = f"unknown layout {layout!r}"
            raise ValueError(msg)
        try:
            return self._view(case, x, dtype, device)
        except (NotImplementedError, IndexError, ValueError) as error:  # e.g. Cubed's step slices
            msg = f"{self.name} cannot make the {layout} layout ({type(error).__name__}: {error})"
            raise NotApplicableError(msg) from None

    def _view(self, case: Case, x: np.ndarray[Any, Any], dtype: str, device: str) -> tuple[Any, Any]:
        """Return ``(view, owner)`` for the strided and broadcast layouts."""
        layout = case.layout
        nd = x.ndim
        if layout == "transposed":
            axes = (*range(nd - 2), nd - 1, nd - 2)
            owner = self.from_host(np.ascontiguousarray(np.transpose(x, axes)), dtype, device)
            return self.namespace().permute_dims(owner, axes), owner
        if layout == "transposed_channels":
            axes = (nd - 3, *range(nd - 3), nd - 2, nd - 1)
            back = tuple(int(a) for a in np.argsort(axes))
            owner = self.from_host(np.ascontiguousarray(np.transpose(x, axes)), dtype, device)
            return self.namespace().permute_dims(owner, back), owner
        if layout == "fortran":
            axes = tuple(range(nd))[::-1]
            owner = self.from_host(np.ascontiguousarray(np.transpose(x, axes)), dtype, device)
            return self.namespace().permute_dims(owner, axes), owner
        if layout == "offset":
            big = np.concatenate([np.zeros((1, *x.shape[1:]), dtype=x.dtype), x]) if nd else x
            owner = self.from_host(big, dtype, device)
            return owner[1:], owner
        if layout == "sliced":
            big = np.zeros((*x.shape[:-1], 2 * x.shape[-1] + 1), dtype=x.dtype)
            big = np.concatenate([big[..., :1, :], big], axis=-2) if nd >= 2 else big
            big[..., 1:, 1::2] = x
            owner = self.from_host(big, dtype, device)
            return owner[..., 1:, 1::2], owner
        if layout == "negative_strides":
            owner = self.from_host(np.ascontiguousarray(x[..., ::-1, ::-1]), dtype, device)
            return owner[..., ::-1, ::-1], owner
        if case.broadcast_axis is not None:
            owner = self.from_host(broadcast_source(case, x), dtype, device)
            return self.namespace().broadcast_to(owner, x.shape), owner
        raise AssertionError(layout)  # make_input checked it

    def namespace(self) -> Any:
        """Return the Array-API namespace used to build layouts."""
        import array_api_compat

        return array_api_compat.array_namespace(self.from_host(np.zeros(1, np.float32), "float32", "cpu"))

    # -- outputs ---------------------------------------------------------------------------
    def is_array(self, y: Any) -> bool:
        """Whether ``y`` is an array of this library."""
        return type(y).__module__.partition(".")[0] in self.entry.modules

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """Read ``y`` back to the host, every bit kept."""
        return HostResult(self.entry.to_numpy(y), dtype)

    def dtype_matches(self, y: Any, dtype: str) -> bool:
        """Whether ``y`` has the dtype named ``dtype``."""
        return bool(y.dtype == self.dtype_object(dtype))

    def dtype_text(self, y: Any) -> str:
        """Return the dtype of ``y`` in words."""
        return str(getattr(y, "dtype", type(y).__name__))

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Whether the output, read back to the host, shares memory with the input's owner."""
        return bool(np.shares_memory(y_host.array, self.entry.to_numpy(owner)))

    def run_time_errors(self, route: str) -> tuple[type[BaseException], ...]:
        """Return the errors that stand for a bad input's ``ValueError`` on ``route``.

        They apply where sizes are known only when a graph runs; most rows know every size at
        the call and have none.
        """
        return ()

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Return a description when ``y`` is not on ``x``'s device."""
        return None

    def memory_format_problem(self, case: Case, x: Any, y: Any) -> str | None:
        """Return how the memory layout of ``y`` differs from the library's own op's, or None.

        A verdict of its own: ``--ignore-strides`` lets an ``--impl`` row pass with it.
        """
        return None

    def output_problem(self, case: Case, x: Any, y: Any) -> str | None:
        """Return what else is wrong with the output ``y`` of ``x`` (its bytes being right), or None."""
        return None

    def reference(self, case: Case, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
        """Return the library's own op applied to host input ``x`` where it defines ``case``, else None."""
        return None


def broadcast_source(case: Case, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Return the one slice that a broadcast layout repeats (batch item 0, channel 0 or column 0)."""
    axis = case.broadcast_axis
    if axis is None:
        msg = f"layout {case.layout!r} repeats no axis"
        raise ValueError(msg)
    return np.ascontiguousarray(np.take(x, [0], axis=axis))
