"""CuPy: NumPy's API on a CUDA GPU, through the Array-API route."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["CuPy"]


class CuPy(Entry):
    """CuPy arrays on the GPU only."""

    name = "cupy"
    title = "CuPy"
    adapter = "subpixel.conformance._backends.cupy"
    extra = "cupy"
    distributions = ("cupy", "cupy-cuda13x", "cupy-cuda12x", "cupy-cuda11x")
    devices = ("gpu",)

    def device_problem(self, device: str) -> str | None:
        """CuPy needs a CUDA device."""
        if device != "gpu":
            return "cupy runs on GPU only"
        try:
            count = self.load().cuda.runtime.getDeviceCount()
        except Exception as error:  # CuPy raises its own CUDA error types
            return f"no CUDA device ({type(error).__name__}: {error})"
        return None if count else "no CUDA device"

    def device_name(self, device: str) -> str:
        """Return the CUDA device's name."""
        name = self.load().cuda.runtime.getDeviceProperties(0)["name"]
        return f"cuda:0 {name.decode() if isinstance(name, bytes) else name}"

    def to_numpy(self, y: Any) -> Any:
        """``.get()``: a host copy."""
        return y.get()
