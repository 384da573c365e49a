"""ndonnx: ONNX-backed arrays (eager ones hold their values), through the Array-API route."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["Ndonnx"]


class Ndonnx(Entry):
    """ndonnx arrays, eager or symbolic (for ONNX export); one axis may have an unknown size."""

    name = "ndonnx"
    title = "ndonnx"
    run_time_sizes = True
    extra = "ndonnx"
    compiles_per_shape = True
    distributions = ("ndonnx", "spox", "onnxruntime")

    def to_numpy(self, y: Any) -> Any:
        """``unwrap_numpy()``."""
        return y.unwrap_numpy()
