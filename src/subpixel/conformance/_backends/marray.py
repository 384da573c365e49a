"""marray's conformance adapter: every input is partly masked, and the mask must follow the data.

An element is masked exactly where the lowest-addressed byte of its value is odd. A shuffle only
moves elements, so in a correct output the same rule holds for every element: a mask left in
place, or moved differently from the data, breaks it for some element of the matrix's inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from subpixel.conformance._backends._base import ArrayBackend, host_copy
from subpixel.conformance._cases import Case

__all__ = ["ADAPTER", "MArrayBackend", "mask_of"]


def mask_of(data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Return the mask the inputs carry: set where the lowest-addressed byte of the element is odd."""
    flat = np.ascontiguousarray(data).reshape(-1)
    first = flat.view(np.uint8).reshape(flat.size, data.dtype.itemsize)[:, 0]
    mask: np.ndarray[Any, Any] = (first & 1).astype(bool).reshape(data.shape)
    return mask


class MArrayBackend(ArrayBackend):
    """marray over NumPy: data and a mask that marks about half of the elements."""

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """Return data ``x`` (a copy) with the mask :func:`mask_of` gives."""
        data = host_copy(x, dtype)
        return self.load().asarray(data, mask=mask_of(data))

    def output_problem(self, case: Case, x: Any, y: Any) -> str | None:
        """Say where the output's mask does not follow its data."""
        data = np.asarray(y.data)
        wrong = np.asarray(y.mask) != mask_of(data)
        if not wrong.any():
            return None
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        return f"the mask did not follow the data: {int(wrong.sum())} element(s) wrong, the first at {first}"


ADAPTER = MArrayBackend
