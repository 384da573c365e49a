"""CuPy's conformance adapter: NumPy's dtypes but bfloat16, device memory compared by address."""

from __future__ import annotations

from typing import Any

import numpy as np

from subpixel.conformance._backends._base import ArrayBackend, HostResult

__all__ = ["ADAPTER", "CupyBackend"]


class CupyBackend(ArrayBackend):
    """CuPy on the GPU only."""

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

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Overlap of the device byte ranges."""
        if y.size == 0 or owner.size == 0:
            return False
        a0, b0 = y.data.mem.ptr, owner.data.mem.ptr
        return bool(a0 < b0 + owner.data.mem.size and b0 < a0 + y.data.mem.size)

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Compare ``.device``."""
        return None if y.device == x.device else f"output on {y.device}, input on {x.device}"


ADAPTER = CupyBackend
