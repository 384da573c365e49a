"""PyTorch's conformance adapter: ``channels_last`` memory formats, torch's strides, autodiff."""

from __future__ import annotations

import functools
import importlib
import types
import warnings
from typing import Any

import numpy as np

from subpixel.conformance._backends._base import (
    ArrayBackend,
    Derivatives,
    HostResult,
    NotApplicableError,
    RowSpec,
    broadcast_source,
    derivatives,
    library_call,
)
from subpixel.conformance._cases import Case, all_cases
from subpixel.conformance._inputs import DTYPE_NAMES

__all__ = ["ADAPTER", "OPLESS", "TorchBackend", "compile_sample", "torch_compile_call", "torch_trace_call"]

#: The dtype PyTorch's op does not implement that holds each dtype's bits (layout ``torch_opless_dtype``).
OPLESS = {
    "bool": "bits8",
    "uint8": "float8_e4m3fn",
    "int8": "float8_e5m2",
    "int16": "bits16",
    "float32": "complex32",
}


def _opless(x: Any) -> bool:
    """Whether ``x`` is of one of the :data:`OPLESS` dtypes."""
    import torch

    return any(getattr(torch, name, None) == x.dtype for name in OPLESS.values())


#: The families the ``torch.compile`` row runs: the small inputs (each case compiles a graph).
_COMPILE_FAMILIES = frozenset(
    {"factors", "ndim", "unshuffle", "zero_size", "layouts", "channels_last", "dcr", "nd_tuple"}
)
#: The dtypes it runs each of those cases in: one PyTorch's op implements, one it does not.
_COMPILE_DTYPES = ("float32", "uint16")


def torch_trace_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Trace the library with ``torch.jit.trace`` on ``x``'s shape, then run the traced graph on ``x``.

    The graph is what the TorchScript ONNX exporter converts: subpixel's traceable route with
    every size traced. It is traced on a detached stand-in of ``x`` (a graph is traced once and
    run on the inputs that follow) and run on ``x`` itself, so autograd and forward-mode dual
    tensors go through the traced graph. ``torch.func`` transforms cannot trace (PyTorch's
    tracer refuses their wrapped tensors): such an input is not applicable.
    """
    import torch

    if torch._C._functorch.is_functorch_wrapped_tensor(x):
        msg = "torch.jit.trace cannot trace inside torch.func transforms"
        raise NotApplicableError(msg)

    def run(y: Any) -> Any:
        return library_call(y, factor, inverse, channels_last, order)

    jit: Any = torch.jit
    stand_in = x.detach().clone(memory_format=torch.preserve_format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jit.TracerWarning)
        warnings.filterwarnings("ignore", "`torch.jit.trace` is deprecated", DeprecationWarning)
        traced = jit.trace(run, stand_in, check_trace=False)
    return traced(x)


class CompiledStridesError(AssertionError):
    """A compiled call gave a result strided unlike the eager call's."""


def torch_compile_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run the library under ``torch.compile(backend="eager", fullgraph=True, dynamic=False)``.

    Dynamo traces the library with every size a plain int (what ``torch.export`` sees too), one
    graph per call, and the eager backend runs that graph. The result must also have the strides
    of the eager call on ``x`` (the memory format does not depend on compiling), which raises
    :class:`CompiledStridesError` otherwise. ``torch.func`` transforms are not applicable.
    """
    import torch

    if torch._C._functorch.is_functorch_wrapped_tensor(x):
        msg = "torch.compile is not checked inside torch.func transforms"
        raise NotApplicableError(msg)

    def run(y: Any) -> Any:
        return library_call(y, factor, inverse, channels_last, order)

    # A fresh code object per call: Dynamo keeps its graphs on the code object, and with
    # fullgraph=True a code object compiled for more inputs than its recompile limit raises.
    code = run.__code__.replace()
    fresh = types.FunctionType(code, run.__globals__, run.__name__, None, run.__closure__)
    y = torch.compile(fresh, backend="eager", fullgraph=True, dynamic=False)(x)
    eager = library_call(x, factor, inverse, channels_last, order)
    if tuple(y.stride()) != tuple(eager.stride()):
        msg = (
            f"compiled result strides {tuple(y.stride())} differ from the eager call's "
            f"{tuple(eager.stride())} (input strides {tuple(x.stride())})"
        )
        raise CompiledStridesError(msg)
    return y


@functools.lru_cache(maxsize=1)
def _compile_turns() -> dict[str, int]:
    """Each quick case's place among the quick cases of the ``torch.compile`` row's families."""
    quick = [c.id for c in all_cases() if c.quick and c.family in _COMPILE_FAMILIES]
    return {case_id: turn for turn, case_id in enumerate(quick)}


def compile_sample(case: Case, dtype: str) -> bool:
    """Whether the ``torch.compile`` row runs ``case`` in ``dtype``: a bounded set of cases.

    Every case of the small-input families (every layout, torch memory format, order, factor
    shape, rank and direction) in float32 and uint16 (the dtype PyTorch's op lacks, which takes
    the reshapes), and each quick case in one more dtype, the others taken in turn. About 0.3 s
    a case: the row's cost stays near a minute. Inputs the library rejects are left out: with
    ``fullgraph=True`` Dynamo reports the library's exception as its own ``Unsupported`` error.
    """
    if case.family not in _COMPILE_FAMILIES or case.autodiff or case.error:
        # With fullgraph=True, Dynamo turns an exception the library raises into its own.
        return False
    if dtype in _COMPILE_DTYPES or case.dtypes:
        return True
    turn = _compile_turns().get(case.id)
    others = [d for d in DTYPE_NAMES if d not in _COMPILE_DTYPES]
    return turn is not None and others[turn % len(others)] == dtype


class TorchBackend(ArrayBackend):
    """PyTorch on CPU and CUDA; no negative strides; ``channels_last`` memory formats."""

    negative_strides = False
    seconds = 30

    def rows(self) -> tuple[RowSpec, ...]:
        """Return the library's row and its rows under ``torch.jit.trace`` and ``torch.compile``."""
        description = (
            "subpixel under torch.jit.trace, run as the traced graph (what the TorchScript ONNX "
            "exporter converts); torch.func.jvp not applicable"
        )
        compiled = (
            "subpixel under torch.compile(backend='eager', fullgraph=True, dynamic=False): every "
            "size static, as torch.export sees it; the small-input cases in float32 and uint16 and "
            "the quick ones in one more dtype each; strides as the eager call's; records no route"
        )
        return (
            *super().rows(),
            RowSpec(f"{self.name}.jit.trace", "torch_traced", description, torch_trace_call, True, 60),
            RowSpec(
                f"{self.name}.compile", None, compiled, torch_compile_call, seconds=60, sample=compile_sample
            ),
        )

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """``from_numpy`` of the bits (bfloat16 via int16, ml_dtypes or not), then ``.to(device)``."""
        torch = self.load()
        if dtype == "bfloat16":
            t = torch.from_numpy(x.view(np.int16).copy()).view(torch.bfloat16)
            return t.to("cuda") if device == "gpu" else t
        return self.entry.from_numpy(x, device)

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
        if case.broadcast_axis is not None:
            owner = self.from_host(broadcast_source(case, x), dtype, device)
            return owner.expand(x.shape), owner
        if case.layout == "torch_opless_dtype":
            torch = self.load()
            name = OPLESS.get(dtype, "")
            if not hasattr(torch, name):
                raise NotApplicableError(
                    f"torch {torch.__version__} has no dtype holding {dtype} as {name!r}"
                )
            owner = self.from_host(x, dtype, device).view(getattr(torch, name))
            return owner, owner
        return super().make_input(case, x, dtype, device)

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """Read ``y`` back; a dtype PyTorch's op lacks as the case's dtype, the same bits."""
        if _opless(y) and y.element_size() == self.dtype_object(dtype).itemsize:
            y = y.view(self.dtype_object(dtype))
        return super().to_host(y, dtype)

    def dtype_matches(self, y: Any, dtype: str) -> bool:
        """Whether ``y`` has ``dtype``, or the dtype PyTorch's op lacks that holds its bits."""
        return bool(y.dtype == self.dtype_object(dtype)) or y.dtype == getattr(
            self.load(), OPLESS.get(dtype, ""), None
        )

    def output_problem(self, case: Case, x: Any, y: Any) -> str | None:
        """Return a problem where the output's dtype is not the input's."""
        return None if y.dtype == x.dtype else f"returned dtype {y.dtype} for an input of {x.dtype}"

    def namespace(self) -> Any:
        """array-api-compat's torch namespace."""
        import array_api_compat.torch

        return array_api_compat.torch

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

        def dual(requires_grad: bool, tangent: Any = t) -> Any:
            with fw_ad.dual_level():
                y = call(fw_ad.make_dual(x.detach().requires_grad_(requires_grad), tangent))
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

        return derivatives(
            [
                ("reverse (torch.autograd.grad)", "reverse", reverse),
                ("forward (forward_ad dual tensor)", "forward", lambda: dual(False)),
                ("forward (forward_ad dual tensor with requires_grad)", "forward", lambda: dual(True)),
                (
                    "forward (forward_ad dual tensor, tangent strided unlike its primal)",
                    "forward",
                    lambda: dual(False, _restrided(torch, t)),
                ),
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


ADAPTER = TorchBackend


def _restrided(torch: Any, tensor: Any) -> Any:
    """Return ``tensor``'s values in other strides: C order, or else channels last (4-d) or Fortran order.

    A dual tensor's tangent may be strided unlike its primal; forward mode must still give the
    shuffle of the tangent, laid out as the result. Strides are compared as numbers: a tensor
    with one channel is contiguous and channels-last at once, yet its strides tell which.
    """
    dims = tensor.dim()
    other = [*range(dims - 1, -1, -1)] if dims != 4 else [0, 2, 3, 1]
    for order in (list(range(dims)), other):
        laid = torch.empty([tensor.shape[axis] for axis in order], dtype=tensor.dtype, device=tensor.device)
        laid = laid.permute([order.index(axis) for axis in range(dims)])
        if laid.stride() != tensor.stride():
            return laid.copy_(tensor)
    return tensor.clone()
