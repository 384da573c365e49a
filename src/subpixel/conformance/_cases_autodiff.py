"""The autodiff family: gradients, forward-mode tangents and double backward at torch's size routes."""

from __future__ import annotations

import math

from subpixel import _catalog, _limits
from subpixel.conformance._case import FLOAT_DTYPES, Case, Order
from subpixel.conformance._cases_sizes import KERAS_ADAPTERS, OPTION_CYCLE, near_shape, size_case

__all__ = ["autodiff_cases"]


def autodiff_cases() -> list[Case]:
    """Gradients and tangents on torch, JAX, TensorFlow and Keras rows, at every torch size route."""
    torch_small = _limits.TORCH_SMALL_BYTES
    torch_elements = _limits.TORCH_SMALL_ELEMENTS
    parallel = _limits.PARALLEL_BYTES
    cases: list[Case] = []
    n = 0
    for label, threshold, in_bytes, sides in (
        ("SMALL_ELEMENTS", torch_elements, False, ("below", "above")),
        ("SMALL_BYTES", torch_small, True, ("below", "above")),
        ("PARALLEL_BYTES", parallel, True, ("above",)),
    ):
        for side in sides:
            for variant in range(2):
                dtype = FLOAT_DTYPES[n % len(FLOAT_DTYPES)]
                itemsize = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "complex64": 8}.get(
                    dtype, 16
                )
                inverse: bool
                channels_last: bool
                order: Order
                factor: int | tuple[int, ...]
                if label == "SMALL_ELEMENTS":
                    inverse, channels_last, order, factor = variant == 1, False, "CRD", 2
                else:
                    inverse, channels_last, order, factor = OPTION_CYCLE[n % len(OPTION_CYCLE)]
                    if label == "PARALLEL_BYTES":
                        dtype, itemsize = ("float32", 4) if variant == 0 else ("float16", 2)
                factors = factor if isinstance(factor, tuple) else (factor, factor)
                count = threshold // itemsize if in_bytes else threshold
                shape = near_shape(count, side == "above", factors, inverse, channels_last)
                layout = "torch_channels_last" if not channels_last and variant == 0 else "contiguous"
                suffix = "" if layout == "contiguous" else f"-{layout}"
                cases.append(
                    size_case(
                        f"{side}-{label}",
                        shape,
                        (inverse, channels_last, order, factor),
                        layout,
                        dtype,
                        (*(e.name for e in _catalog.entries() if e.gradient_tool), *KERAS_ADAPTERS),
                        f"{side} torch {label}",
                        suffix,
                        "autodiff",
                        autodiff=True,
                        quick=n < 2,
                    )
                )
                n += 1
    cases += _one_channel_cases(torch_small)
    return cases


def _one_channel_cases(torch_small: int) -> list[Case]:
    """One channel above torch's byte threshold: an input contiguous and channels-last at once.

    Its result's layout follows how the input was made; a tangent strided otherwise (the torch
    rows also try one) must still come out laid out as the result.
    """
    side = 8 * (math.isqrt(torch_small // (4 * 2 * 64)) + 1)
    shape = (2, 1, side, side + 8)
    options: tuple[bool, bool, Order, int] = (True, False, "DCR", 4)
    return [
        size_case(
            "above-SMALL_BYTES-one-channel",
            shape,
            options,
            layout,
            "float32",
            tuple(e.name for e in _catalog.entries() if e.gradient_tool),
            "one channel above torch SMALL_BYTES: contiguous and channels_last at once",
            "" if layout == "contiguous" else f"-{layout}",
            "autodiff",
            autodiff=True,
        )
        for layout in ("contiguous", "torch_channels_last")
    ]
