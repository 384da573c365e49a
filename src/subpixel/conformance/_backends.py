"""Array backends: how to put a host input on a device, in a given memory layout, and read it back.

Each adapter knows one library: which devices and dtypes it has, how to build every input
layout it can express (``NotApplicableError`` for the others), how to read an array back as raw
bytes, whether two arrays share memory and whether they live on the same device.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np

from subpixel.conformance._cases import Case
from subpixel.conformance._inputs import DTYPES, host_dtype

__all__ = [
    "ADAPTERS",
    "KERAS_BACKENDS",
    "ArrayBackend",
    "HostResult",
    "KerasBackend",
    "NotApplicableError",
    "TensorFlowBackend",
]

#: The Keras backends that get a ``subpixel.keras.<backend>`` row (run in a worker process).
KERAS_BACKENDS = ("tensorflow", "jax", "torch")

_WIDE = frozenset(d.name for d in DTYPES if d.wide)


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


def _derivatives(checks: list[tuple[str, str, Callable[[], Any]]]) -> Derivatives:
    """Run each ``(name, kind, compute)``: ``{name: (kind, result or the exception it raised)}``.

    ``kind`` is ``forward`` (the result must equal the shuffle of the tangent) or ``reverse``
    (the inverse shuffle of the cotangent).
    """
    results: Derivatives = {}
    for name, kind, compute in checks:
        try:
            results[name] = (kind, compute())
        except Exception as error:  # noqa: PERF203 - any exception is a failed check, with its text
            results[name] = (kind, error)
    return results


class ArrayBackend:
    """Base adapter for a NumPy-like library; subclasses override what differs."""

    name: ClassVar[str] = ""
    module: ClassVar[str] = ""
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    strided: ClassVar[bool] = True
    negative_strides: ClassVar[bool] = True

    def load(self) -> Any:
        """Import the library and return its namespace (raises when broken)."""
        return importlib.import_module(self.module)

    def device_problem(self, device: str) -> str | None:
        """Return why ``device`` cannot run, or None."""
        return None if device in self.devices else f"{self.name} has no {device} device"

    def device_name(self, device: str) -> str:
        """Describe the device for the report header."""
        return device

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
        raise NotImplementedError

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
        if layout == "torch_channels_last":
            raise NotApplicableError("torch memory formats apply to torch only")
        if not self.strided:
            raise NotApplicableError(f"{self.name} arrays have no strides")
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
        if layout == "sliced":
            big = np.zeros((*x.shape[:-1], 2 * x.shape[-1] + 1), dtype=x.dtype)
            big = np.concatenate([big[..., :1, :], big], axis=-2) if nd >= 2 else big
            big[..., 1:, 1::2] = x
            owner = self.from_host(big, dtype, device)
            return owner[..., 1:, 1::2], owner
        if layout == "negative_strides":
            if not self.negative_strides:
                raise NotApplicableError(f"{self.name} has no negative strides")
            owner = self.from_host(np.ascontiguousarray(x[..., ::-1, ::-1]), dtype, device)
            return owner[..., ::-1, ::-1], owner
        if layout in ("broadcast", "broadcast_channels"):
            owner = self.from_host(_broadcast_source(case, x), dtype, device)
            return self.namespace().broadcast_to(owner, x.shape), owner
        msg = f"unknown layout {layout!r}"
        raise ValueError(msg)

    def namespace(self) -> Any:
        """Return the Array-API namespace used to build layouts."""
        import array_api_compat

        return array_api_compat.array_namespace(self.from_host(np.zeros(1, np.float32), "float32", "cpu"))

    # -- outputs ---------------------------------------------------------------------------
    def is_array(self, y: Any) -> bool:
        """Whether ``y`` is an array of this library."""
        return type(y).__module__.partition(".")[0] == self.module.partition(".")[0]

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """Read ``y`` back to the host, every bit kept."""
        return HostResult(np.asarray(y), dtype)

    def dtype_matches(self, y: Any, dtype: str) -> bool:
        """Whether ``y`` has the dtype named ``dtype``."""
        return bool(y.dtype == self.dtype_object(dtype))

    def dtype_text(self, y: Any) -> str:
        """Return the dtype of ``y`` in words."""
        return str(getattr(y, "dtype", type(y).__name__))

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Whether the output shares memory with the input's owner."""
        return bool(np.shares_memory(y_host.array, np.asarray(owner)))

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Return a description when ``y`` is not on ``x``'s device."""
        return None


def _broadcast_source(case: Case, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Return the one slice that a broadcast layout repeats: batch item 0, or channel 0."""
    axis = case.channel_axis if case.layout == "broadcast_channels" else 0
    return np.ascontiguousarray(np.take(x, [0], axis=axis))


class NumpyBackend(ArrayBackend):
    """NumPy (``bfloat16`` through ml_dtypes when installed)."""

    name = "numpy"
    module = "numpy"

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


class StrictBackend(ArrayBackend):
    """array-api-strict: the standard and nothing more (no float16, no bfloat16)."""

    name = "array_api_strict"
    module = "array_api_strict"

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """``asarray`` of a host copy."""
        return self.load().asarray(x.copy())

    def namespace(self) -> Any:
        """Return the library itself."""
        return self.load()

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """Only the standard's dtypes."""
        if not hasattr(self.load(), dtype):
            return f"array_api_strict has no {dtype}"
        return None


class TorchBackend(ArrayBackend):
    """PyTorch on CPU and CUDA; no negative strides; ``channels_last`` memory formats."""

    name = "torch"
    module = "torch"
    devices = ("cpu", "gpu")
    negative_strides = False

    def device_problem(self, device: str) -> str | None:
        """Require CUDA for the GPU row."""
        if device == "gpu":
            torch = self.load()
            if not torch.cuda.is_available():
                return "no CUDA device"
            return None
        return super().device_problem(device)

    def device_name(self, device: str) -> str:
        """CUDA device name."""
        if device == "gpu":
            return f"cuda:0 {self.load().cuda.get_device_name(0)}"
        return device

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """``from_numpy`` of the bits (bfloat16 via int16), then ``.to(device)``."""
        torch = self.load()
        if dtype == "bfloat16":
            t = torch.from_numpy(x.view(np.int16).copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(x.copy())
        return t.to("cuda") if device == "gpu" else t

    def make_input(self, case: Case, x: np.ndarray[Any, Any], dtype: str, device: str) -> tuple[Any, Any]:
        """Torch layouts, including the ``channels_last`` memory formats."""
        if case.layout == "torch_channels_last":
            torch = self.load()
            formats = {4: torch.channels_last, 5: torch.channels_last_3d}
            if x.ndim not in formats:
                raise NotApplicableError("channels_last memory format needs 4-D or 5-D input")
            # empty_like + copy_ gives the format's own strides even where the tensor is also
            # contiguous (one channel, 1x1 pixels), where .contiguous(memory_format=) is a no-op.
            plain = self.from_host(x, dtype, device)
            owner = self.load().empty_like(plain, memory_format=formats[x.ndim]).copy_(plain)
            return owner, owner
        if case.layout in ("broadcast", "broadcast_channels"):
            owner = self.from_host(_broadcast_source(case, x), dtype, device)
            return owner.expand(x.shape), owner
        return super().make_input(case, x, dtype, device)

    def namespace(self) -> Any:
        """array-api-compat's torch namespace."""
        import array_api_compat.torch

        return array_api_compat.torch

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """Bits through a same-size integer view (numpy has no bfloat16)."""
        torch = self.load()
        t = y.detach().cpu()
        if t.dtype == torch.bfloat16:
            return HostResult(t.view(torch.int16).numpy(), dtype)
        return HostResult(t.numpy(), dtype)

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Overlap of the two storages' byte ranges."""
        if y.numel() == 0 or owner.numel() == 0:
            return False
        a = y.untyped_storage()
        b = owner.untyped_storage()
        a0, b0 = a.data_ptr(), b.data_ptr()
        return bool(a0 < b0 + b.nbytes() and b0 < a0 + a.nbytes())

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Compare ``.device``."""
        return None if y.device == x.device else f"output on {y.device}, input on {x.device}"

    def _native(self, case: Case) -> Any:
        """Return torch's own op where it defines ``case`` (the strides to match), else None."""
        if not case.torch_native or case.channels_last or case.order != "CRD":
            return None
        functional = self.load().nn.functional
        return functional.pixel_unshuffle if case.inverse else functional.pixel_shuffle

    def memory_format_problem(self, case: Case, x: Any, y: Any) -> str | None:
        """Where torch's own op defines the case, the output's strides must equal its output's.

        Checked for every input layout: contiguous, ``channels_last`` memory formats (including
        the shapes where both formats coincide: one channel, or 1x1 pixels), strided views and
        broadcast axes (a zero-stride channel axis reads as contiguous in torch).
        """
        fn = self._native(case)
        if fn is None or case.round_trip:
            return None
        torch = self.load()
        if y.numel() == 0 or y.dtype in (torch.uint16, torch.uint32, torch.uint64):
            return None
        try:
            reference = fn(x, case.factors[0])
        except (RuntimeError, NotImplementedError):  # torch's own op rejects this input
            return None
        return _strides_problem("output", y, reference, x)

    def autodiff(self, call: Any, x: Any, t: Any, g: Any) -> Derivatives:
        """Every derivative of ``call`` at ``x`` along ``t`` (forward) and ``g`` (reverse)."""
        torch = self.load()
        fw_ad: Any = importlib.import_module("torch.autograd.forward_ad")

        def reverse() -> Any:
            xr = x.detach().requires_grad_(True)
            return torch.autograd.grad(call(xr), xr, g)[0]

        def dual(requires_grad: bool) -> Any:
            with fw_ad.dual_level():
                y = call(fw_ad.make_dual(x.detach().requires_grad_(requires_grad), t))
                return fw_ad.unpack_dual(y).tangent

        def double() -> Any:
            xr = x.detach().requires_grad_(True)
            gr = g.detach().requires_grad_(True)
            gx = torch.autograd.grad(call(xr), xr, gr, create_graph=True)[0]
            return torch.autograd.grad(gx, gr, t)[0]

        def forward_over_reverse() -> Any:
            with fw_ad.dual_level():
                xr = x.detach().requires_grad_(True)
                gx = torch.autograd.grad(call(xr), xr, fw_ad.make_dual(g, g))[0]
                return fw_ad.unpack_dual(gx).tangent

        return _derivatives(
            [
                ("reverse (torch.autograd.grad)", "reverse", reverse),
                ("forward (forward_ad dual tensor)", "forward", lambda: dual(False)),
                ("forward (forward_ad dual tensor with requires_grad)", "forward", lambda: dual(True)),
                ("forward (torch.func.jvp)", "forward", lambda: torch.func.jvp(call, (x,), (t,))[1]),
                ("double backward", "forward", double),
                ("forward over reverse", "reverse", forward_over_reverse),
            ]
        )

    def stride_problem(self, case: Case, call: Any, x: Any, g: Any) -> str | None:
        """Where torch's own op defines the case, output and gradient strides must equal its."""
        fn = self._native(case)
        if fn is None:
            return None
        torch = self.load()
        xr = x.detach().requires_grad_(True)
        want_y = fn(xr, case.factors[0])
        (want_g,) = torch.autograd.grad(want_y, xr, g)
        xr = x.detach().requires_grad_(True)
        y = call(xr)
        (gx,) = torch.autograd.grad(y, xr, g)
        return _strides_problem("output", y, want_y, x) or _strides_problem("gradient", gx, want_g, x)


def _strides_problem(what: str, got: Any, want: Any, x: Any) -> str | None:
    """Describe how the strides of ``got`` differ from those of torch's ``want``, or None."""
    if tuple(got.stride()) == tuple(want.stride()):
        return None
    return (
        f"{what} strides {tuple(got.stride())} differ from torch's op: {tuple(want.stride())} "
        f"(input strides {tuple(x.stride())})"
    )


class JaxBackend(ArrayBackend):
    """JAX on CPU and GPU; 64-bit dtypes run with x64 enabled; arrays have no strides."""

    name = "jax"
    module = "jax"
    devices = ("cpu", "gpu")
    strided = False

    def __init__(self, enable_x64: bool = True) -> None:
        #: False reports the 64-bit rows as not run instead of enabling x64 for them.
        self.enable_x64 = enable_x64

    def load(self) -> Any:
        """``jax.numpy``."""
        return importlib.import_module("jax.numpy")

    def _devices(self, device: str) -> list[Any]:
        import jax

        try:
            return list(jax.devices("gpu" if device == "gpu" else "cpu"))
        except RuntimeError:
            return []

    def device_problem(self, device: str) -> str | None:
        """Ask JAX for a device of that platform."""
        if device not in self.devices:
            return super().device_problem(device)
        return None if self._devices(device) else f"JAX sees no {device} device"

    def device_name(self, device: str) -> str:
        """JAX's device kind."""
        found = self._devices(device)
        return f"{found[0]} ({found[0].device_kind})" if found else device

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """64-bit dtypes need x64."""
        if dtype in _WIDE and not self.enable_x64:
            return "JAX x64 disabled"
        return super().dtype_problem(dtype, device)

    def dtype_object(self, dtype: str) -> Any:
        """``jnp.dtype``."""
        return self.load().dtype(dtype)

    @contextlib.contextmanager
    def dtype_context(self, dtype: str) -> Iterator[None]:
        """64-bit rows run inside ``jax.enable_x64(True)``; the others in the ambient setting."""
        if dtype not in _WIDE:
            yield
            return
        import jax

        enable: Any = getattr(jax, "enable_x64", None)
        if enable is None:  # older JAX
            enable = importlib.import_module("jax.experimental").enable_x64
        with enable(True):
            yield

    def make_input(self, case: Case, x: np.ndarray[Any, Any], dtype: str, device: str) -> tuple[Any, Any]:
        """JAX layouts: contiguous, or the batch axis sharded over an explicit mesh."""
        if case.layout != "jax_sharded":
            return super().make_input(case, x, dtype, device)
        import jax
        from jax.sharding import NamedSharding, PartitionSpec

        found = self._devices(device)
        if len(found) < 2:
            msg = f"JAX sees {len(found)} {device} device: sharding needs several"
            raise NotApplicableError(msg)
        if x.shape[0] % len(found):
            msg = f"the batch axis ({x.shape[0]}) does not divide over {len(found)} devices"
            raise NotApplicableError(msg)
        axis_type: Any = getattr(jax.sharding, "AxisType", None)
        if axis_type is None:
            raise NotApplicableError("this JAX has no explicit mesh axes")
        mesh = jax.make_mesh((len(found),), ("batch",), axis_types=(axis_type.Explicit,), devices=found)
        spec: Any = PartitionSpec
        array = jax.device_put(host_copy(x, dtype), NamedSharding(mesh, spec("batch")))
        return array, array

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """``jax.device_put`` on the first device of the platform."""
        import jax

        return jax.device_put(host_copy(x, dtype), self._devices(device)[0])

    def namespace(self) -> Any:
        """``jax.numpy``."""
        return self.load()

    def is_array(self, y: Any) -> bool:
        """Check for a ``jax.Array``."""
        import jax

        return isinstance(y, jax.Array)

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """JAX arrays are immutable; sharing cannot be observed."""
        return False

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Compare ``.devices()``."""
        return None if y.devices() == x.devices() else f"output on {y.devices()}, input on {x.devices()}"

    def autodiff(self, call: Any, x: Any, t: Any, g: Any) -> Derivatives:
        """Every derivative of ``call`` at ``x`` (see :meth:`TorchBackend.autodiff`)."""
        import jax

        def pullback(c: Any) -> Any:
            return jax.vjp(call, x)[1](c)[0]

        return _derivatives(
            [
                ("reverse (jax.vjp)", "reverse", lambda: pullback(g)),
                ("forward (jax.jvp)", "forward", lambda: jax.jvp(call, (x,), (t,))[1]),
                ("double backward (jax.vjp of the vjp)", "forward", lambda: jax.vjp(pullback, g)[1](t)[0]),
                (
                    "forward over reverse (jax.jvp of the vjp)",
                    "reverse",
                    lambda: jax.jvp(pullback, (g,), (g,))[1],
                ),
            ]
        )


class CupyBackend(ArrayBackend):
    """CuPy on the GPU only."""

    name = "cupy"
    module = "cupy"
    devices = ("gpu",)

    def device_problem(self, device: str) -> str | None:
        """CuPy needs a CUDA device."""
        if device != "gpu":
            return "cupy runs on GPU only"
        cupy = self.load()
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as error:
            return f"no CUDA device ({type(error).__name__}: {error})"
        return None if count else "no CUDA device"

    def device_name(self, device: str) -> str:
        """CUDA device name."""
        props = self.load().cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        return f"cuda:0 {name.decode() if isinstance(name, bytes) else name}"

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """``cupy.asarray`` of a host copy."""
        return self.load().asarray(x.copy())

    def namespace(self) -> Any:
        """array-api-compat's CuPy namespace."""
        import array_api_compat.cupy

        return array_api_compat.cupy

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """CuPy follows NumPy's dtypes (no bfloat16)."""
        if dtype == "bfloat16":
            return "cupy has no bfloat16"
        return None

    def dtype_object(self, dtype: str) -> Any:
        """NumPy dtype."""
        return np.dtype(dtype)

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """``.get()``."""
        return HostResult(y.get(), dtype)

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Overlap of the device byte ranges."""
        if y.size == 0 or owner.size == 0:
            return False
        a0, b0 = y.data.mem.ptr, owner.data.mem.ptr
        return bool(a0 < b0 + owner.data.mem.size and b0 < a0 + y.data.mem.size)

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Compare ``.device``."""
        return None if y.device == x.device else f"output on {y.device}, input on {x.device}"


class DaskBackend(ArrayBackend):
    """Dask arrays of NumPy chunks; layouts are chunkings (plus NumPy's strided views)."""

    name = "dask"
    module = "dask.array"

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
        if case.layout in ("torch_channels_last", "numpy_masked", "jax_sharded"):
            return super().make_input(case, x, dtype, device)
        # NumPy-strided views as dask's source arrays.
        view, owner = NumpyBackend().make_input(case, x, dtype, device)
        return da.from_array(view, chunks=tuple(max(1, s // 2) for s in x.shape)), owner

    def namespace(self) -> Any:
        """array-api-compat's dask namespace."""
        import array_api_compat.dask.array

        return array_api_compat.dask.array

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """``compute()``."""
        return HostResult(np.asarray(y.compute()), dtype)

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Compare the computed result with the NumPy array the input was made from."""
        return bool(np.shares_memory(y_host.array, owner))


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


class TensorFlowBackend(ArrayBackend):
    """Eager ``tf.Tensor`` on the CPU; tensors are immutable and have no strides."""

    name = "tensorflow"
    module = "tensorflow"
    strided = False

    def dtype_object(self, dtype: str) -> Any:
        """``tf.as_dtype`` of the host dtype."""
        return self.load().as_dtype(host_dtype(dtype))

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """``tf.constant`` of a copy (every bit kept)."""
        return self.load().constant(host_copy(x, dtype))

    def is_array(self, y: Any) -> bool:
        """Check for a dense ``tf.Tensor``."""
        return isinstance(y, self.load().Tensor)

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """``.numpy()``."""
        return HostResult(np.asarray(y.numpy()), dtype)

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Tensors are immutable; sharing cannot be observed."""
        return False

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Compare ``.device``."""
        return None if y.device == x.device else f"output on {y.device}, input on {x.device}"

    def autodiff(self, call: Any, x: Any, t: Any, g: Any) -> Derivatives:
        """``tf.GradientTape``, ``tf.autodiff.ForwardAccumulator`` and nested tapes (second order)."""
        tf = self.load()

        def backward(wrt: Any, compute: Any, cotangent: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(wrt)
                out = compute()
            return tape.gradient(out, wrt, output_gradients=cotangent)

        def forward(primal: Any, tangent: Any, compute: Any) -> Any:
            with tf.autodiff.ForwardAccumulator(primal, tangent) as accumulator:
                out = compute()
            return accumulator.jvp(out)

        def gradient() -> Any:
            return backward(x, lambda: call(x), g)

        return _derivatives(
            [
                ("reverse (tf.GradientTape)", "reverse", gradient),
                (
                    "forward (tf.autodiff.ForwardAccumulator)",
                    "forward",
                    lambda: forward(x, t, lambda: call(x)),
                ),
                ("double backward (nested tf.GradientTape)", "forward", lambda: backward(g, gradient, t)),
                (
                    "forward over reverse (ForwardAccumulator over GradientTape)",
                    "reverse",
                    lambda: forward(g, g, gradient),
                ),
            ]
        )


#: NumPy dtypes Keras's torch backend rejects as layer inputs
#: (uint16 and bfloat16 measured; uint32 and uint64 not tried).
_KERAS_TORCH_MISSING = frozenset({"uint16", "uint32", "uint64", "bfloat16"})


class KerasBackend(NumpyBackend):
    """NumPy inputs and outputs of the Keras layers on one Keras backend (run in a worker)."""

    module = "keras"

    def __init__(self, keras_backend: str) -> None:
        self.keras_backend = keras_backend
        self.name = f"keras.{keras_backend}"  # type: ignore[misc]

    def load(self) -> Any:
        """NumPy (the layers run in the worker)."""
        return importlib.import_module("numpy")

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """Keras's torch backend cannot take NumPy inputs of some dtypes."""
        if self.keras_backend == "torch" and dtype in _KERAS_TORCH_MISSING:
            return f"Keras's torch backend does not convert NumPy {dtype} inputs"
        return super().dtype_problem(dtype, device)

    def is_array(self, y: Any) -> bool:
        """Check for a NumPy array (the worker answers with them)."""
        return isinstance(y, np.ndarray)


ADAPTERS: dict[str, ArrayBackend] = {
    adapter.name: adapter
    for adapter in (
        NumpyBackend(),
        StrictBackend(),
        TorchBackend(),
        JaxBackend(),
        CupyBackend(),
        DaskBackend(),
        TensorFlowBackend(),
        *(KerasBackend(backend) for backend in KERAS_BACKENDS),
    )
}
