"""The autodiff family: gradients, forward-mode tangents and double backward, bit for bit.

A shuffle is a permutation of elements, so each derivative is one too, and must move the same
bits as the definition:

- reverse mode: the gradient of a cotangent ``g`` is the inverse shuffle of ``g``;
- forward mode: the tangent of ``t`` is the shuffle of ``t`` (dual tensors, ``torch.func.jvp``,
  ``jax.jvp``);
- double backward: differentiating the gradient with respect to ``g`` along ``t`` gives the
  shuffle of ``t``; forward over reverse gives the inverse shuffle of the cotangent's tangent.

On torch rows the output and the gradient must also have the strides of torch's own op. The
Keras rows that run in a worker process check reverse mode: the worker differentiates the
layer with its Keras backend's own autodiff.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from subpixel._catalog import entry
from subpixel.conformance._backends import ArrayBackend, KerasBackend, NotApplicableError
from subpixel.conformance._cases import Case, documented_shape
from subpixel.conformance._keras_worker import keras_call, keras_gradient
from subpixel.conformance._references import ReferenceBook, definition_output
from subpixel.conformance._registry import Implementation

__all__ = ["check_autodiff"]

#: Kinds of expected result: the shuffle of the tangent, or the inverse shuffle of the cotangent.
FORWARD, REVERSE = "forward", "reverse"


def _keras_derivatives(impl: Implementation, adapter: ArrayBackend, case: Case) -> Any:
    """For a built-in Keras worker row, the gradient its worker computes; otherwise None.

    The worker differentiates the layer with its Keras backend's autodiff (reverse mode only).
    """
    if not isinstance(adapter, KerasBackend):
        return None
    call = impl.call
    if not (isinstance(call, functools.partial) and call.func is keras_call):
        msg = f"{impl.name}: only the built-in Keras layers are differentiated in a worker"
        raise NotApplicableError(msg)
    backend = adapter.keras_backend
    tool = entry(backend).gradient_tool

    def derivatives(_call: Any, x: Any, _t: Any, g: Any) -> dict[str, tuple[str, Any]]:
        def gradient() -> Any:
            return keras_gradient(backend, x, g, case.factor, case.inverse, case.channels_last, case.order)

        return {f"reverse (Keras on {backend}: {tool})": (REVERSE, _attempt(gradient))}

    return derivatives


def _attempt(compute: Any) -> Any:
    """Return ``compute()``, or the exception it raised (a failed check, with its text)."""
    try:
        return compute()
    except Exception as error:  # any exception is a failed check
        return error


def check_autodiff(
    impl: Implementation,
    adapter: ArrayBackend,
    device: str,
    dtype: str,
    case: Case,
    book: ReferenceBook,
    memory_format: list[str] | None = None,
) -> str | None:
    """Run every derivative of ``case`` on ``impl`` and return the first problem, or None.

    With a list ``memory_format``, a memory-format problem (output or gradient strides that
    differ from torch's op, where every value is right) is appended there instead of returned.

    Raises
    ------
    NotApplicableError
        If the backend has no automatic differentiation or cannot express the input.
    """
    differentiate = _keras_derivatives(impl, adapter, case) or getattr(adapter, "autodiff", None)
    if differentiate is None:
        msg = f"{adapter.name} has no automatic differentiation"
        raise NotApplicableError(msg)
    out_shape = documented_shape(case.shape, case.factors, case.inverse, case.channels_last)
    x_host = book.input(case, dtype)
    t_host = book.extra_input(case, dtype, "tangent", case.shape)
    g_host = book.extra_input(case, dtype, "cotangent", out_shape)
    x, _ = adapter.make_input(case, x_host, dtype, device)
    t, _ = adapter.make_input(case, t_host, dtype, device)
    g = adapter.from_host(g_host, dtype, device)

    def call(a: Any) -> Any:
        return impl.call(a, case.factor, case.inverse, case.channels_last, case.order)

    backwards = dataclasses.replace(
        case, shape=out_shape, inverse=not case.inverse, layout="contiguous", autodiff=False
    )
    expected = {
        FORWARD: definition_output(case, t_host).tobytes(),
        REVERSE: definition_output(backwards, g_host).tobytes(),
    }
    results: dict[str, tuple[str, Any]] = differentiate(call, x, t, g)
    for name, (kind, value) in results.items():
        if isinstance(value, Exception):
            return f"{name}: raised {type(value).__name__}: {value}"
        if value is None:
            return f"{name}: the tangent is None (dropped)"
        got = adapter.to_host(value, dtype)
        want_shape = case.shape if kind == REVERSE else out_shape
        if got.shape != want_shape:
            return f"{name}: shape {got.shape}, expected {want_shape}"
        if got.data != expected[kind]:
            a = np.frombuffer(got.data, np.uint8)
            b = np.frombuffer(expected[kind], np.uint8)
            count = int(np.count_nonzero(a != b))
            what = "the inverse shuffle of the cotangent" if kind == REVERSE else "the shuffle of the tangent"
            return f"{name}: {count} byte(s) differ from {what}"
    strides = getattr(adapter, "stride_problem", None)
    if strides is not None:
        problem: str | None = strides(case, call, x, g)
        if problem is not None and memory_format is not None:
            memory_format.append(problem)
            return None
        return problem
    return None
