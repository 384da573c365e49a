"""Hostile inputs: each gets a correct result or a clean, named error, as a user would expect.

The decisions, case by case (the reliability page lists them):

* factors whose product overflows 64 bits: ``ValueError`` naming the factor;
* zero-size inputs whose result shape no framework can form (its nonzero sizes multiply past
  ``2**59``): ``ValueError`` naming the factor; smaller ones: the right empty result, promptly;
* element counts past ``2**63``: no NumPy or torch array can hold them (both refuse to make the
  shape); torch ``meta`` tensors and ``jax.eval_shape`` get the right shape without touching
  data; a ``jax.ShapeDtypeStruct`` passed directly is not an array (``TypeError``);
* objects that are not arrays: ``TypeError`` naming ``x``;
* subclasses: a masked array keeps its mask, shuffled with the data; an ``np.matrix`` (2-D only)
  gets a correct result or a named error; a torch ``Parameter`` gives a plain tensor whose
  gradient flows; tensor subclasses stay subclasses; lazily conjugated or negated tensors give
  the resolved values; sparse tensors get a correct result or a named error;
* JAX tracers (``jit``, ``vmap``, ``grad``, ``eval_shape``): the same values; a traced factor
  is a ``TypeError`` naming the factor;
* another device (torch ``meta``): a result on that device;
* a layer of one framework given another library's array: the functional result in the input's
  library (the layers are thin shells), or the framework's own ``TypeError``/``ValueError``.
"""

from __future__ import annotations

import importlib
import math
import os
import subprocess
import sys
import textwrap
import warnings
from typing import Any

import numpy as np
import pytest

import subpixel
from tests.backends import Backend, requested_backends, to_numpy
from tests.reference import (
    MAX_ZERO_SIZE_EXTENT,
    Order,
    names,
    output_shape,
    reference,
)
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Dask rechunks inputs whose chunks split a channel group, with a ChunkingWarning (a hint
#: about speed): the results are what is checked here.
pytestmark = pytest.mark.filterwarnings("ignore::subpixel.ChunkingWarning")


def need(backend: str, module: str | None = None) -> Any:
    """Import ``module`` (default: ``backend``).

    The tests that call this declare the framework (``@pytest.mark.needs``), so they are collected
    only when the run requests it, and a requested one that cannot be imported fails.
    """
    return importlib.import_module(module or backend)


def expect_error(
    call: Any, argument: str, kinds: tuple[type[Exception], ...] = (TypeError, ValueError)
) -> str:
    """Run ``call``; it must raise exactly one of ``kinds`` with a message naming ``argument``."""
    with pytest.raises(Exception) as info:  # noqa: PT011 - the exact type is checked below
        call()
    error = info.value
    assert type(error) in kinds, f"{type(error).__name__}: {error}"
    assert names(str(error), argument), f"the message does not name {argument!r}: {error}"
    return str(error)


def result_or_error(call: Any, expected: np.ndarray, argument: str, convert: Any = np.asarray) -> str:
    """Either a result equal, bit for bit, to ``expected`` or a clean error naming ``argument``."""
    try:
        result = call()
    except (TypeError, ValueError) as caught:
        message = str(caught)
    else:
        assert_same_bits(convert(result), expected)
        return "result"
    assert names(message, argument), f"the message does not name {argument!r}: {message}"
    return "error"


# --- factors and shapes past 64 bits -----------------------------------------------------------

OVERFLOWING_FACTORS = [2**32, (2**32, 2**32), (2**40, 2**40, 2**40), 2**64, 2**100, (2**62, 2**62)]


@pytest.mark.parametrize("factor", OVERFLOWING_FACTORS, ids=repr)
def test_factors_whose_product_overflows_are_rejected_by_name(backend: Backend, factor: Any) -> None:
    k = len(factor) if isinstance(factor, tuple) else 2
    x = backend.from_numpy(np.zeros((1, 4, *([2] * k)), np.float32))
    expect_error(lambda: subpixel.pixel_shuffle(x, factor), "upscale_factor", (ValueError,))
    expect_error(lambda: subpixel.pixel_unshuffle(x, factor), "downscale_factor", (ValueError,))


@pytest.mark.parametrize(
    ("shape", "factor", "inverse"),
    [
        ((1, 1, 0, 0), 2**32, True),  # result channels 2**64
        ((1, 1, 0, 0), 2**30, True),  # 2**60 > 2**59: NumPy, torch and XLA all fail forming it
        ((1, 0, 5, 5), 2**40, False),  # empty channels, spatial sizes 5 * 2**40
        ((0, 3, 0), (2**61,), True),  # a 1-D factor past the limit on its own
    ],
    ids=str,
)
def test_zero_size_results_no_framework_can_form_are_rejected_by_name(
    backend: Backend, shape: tuple[int, ...], factor: Any, inverse: bool
) -> None:
    x = backend.from_numpy(np.zeros(shape, np.float32))
    func = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    name = "downscale_factor" if inverse else "upscale_factor"
    message = expect_error(lambda: func(x, factor), name, (ValueError,))
    assert "too large" in message


def test_the_zero_size_limit_is_the_largest_16_byte_array() -> None:
    assert MAX_ZERO_SIZE_EXTENT == (2**63 - 1) // 16
    assert subpixel._plan.MAX_ZERO_SIZE_EXTENT == MAX_ZERO_SIZE_EXTENT
    # Just inside the limit is accepted: factor (2**29, 2**29) makes 2**58 channels.
    x = np.zeros((1, 1, 0, 0), np.complex128)
    assert subpixel.pixel_unshuffle(x, (2**29, 2**29)).shape == (1, 2**58, 0, 0)


def test_a_zero_size_input_keeps_its_own_huge_extent() -> None:
    """NumPy made the input, so a result with the same nonzero sizes is not rejected."""
    x = np.empty((0, 2**40, 2**20), np.int8)  # nonzero sizes multiply to 2**60
    y = subpixel.pixel_shuffle(x, (2,))
    assert y.shape == (0, 2**39, 2**21)
    assert y.dtype == x.dtype


ZERO_SIZE_SCRIPT = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import numpy as np
sys.path.insert(0, {root!r})
from tests.backends import Backend
import subpixel
backend = Backend({backend!r})
if backend is Backend.JAX:
    import jax
    jax.config.update("jax_enable_x64", True)
x = backend.from_numpy(np.zeros((1, 1, 0, 0), np.int8))
start = time.perf_counter()
# JAX itself cannot form an empty array with a size near 2**28 in 6 GiB (even jnp.zeros aborts
# with std::bad_alloc), so it gets a smaller factor: the result must still cost nothing.
r = 2**10 if backend is Backend.JAX else 2**14
y = subpixel.pixel_unshuffle(x, r)
shape = tuple(int(s) for s in y.shape)
print("shape", shape, "seconds", round(time.perf_counter() - start, 3))
print("peak_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
assert shape == (1, r * r, 0, 0), shape
"""


def test_zero_size_input_with_a_large_factor_returns_promptly(backend: Backend) -> None:
    """An empty result of a huge shape must cost nothing: no crash, no gigabytes, no seconds.

    Run in a subprocess under a 6 GiB address-space limit, since a failure here used to be an
    abort (XLA's transpose of an empty array sized its work by the nonzero extent).
    """
    script = ZERO_SIZE_SCRIPT.format(root=ROOT, backend=backend.value, limit=6 * 2**30)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    seconds = float(done.stdout.split("seconds")[1].split()[0])
    assert seconds < 10, done.stdout


@pytest.mark.needs("torch")
def test_torch_meta_tensors_of_2_to_the_62_elements_get_the_right_shape() -> None:
    torch = need("torch")
    x = torch.empty((2**30, 2**30, 2, 2), dtype=torch.int8, device="meta")
    y = subpixel.pixel_shuffle(x, 2)
    assert y.device.type == "meta"
    assert tuple(y.shape) == (2**30, 2**28, 4, 4)
    back = subpixel.pixel_unshuffle(y, 2, order="DCR")
    assert tuple(back.shape) == (2**30, 2**30, 2, 2)


@pytest.mark.needs("torch")
def test_no_numpy_or_torch_array_can_have_2_to_the_63_elements() -> None:
    """The premise of "inputs past 2**63 elements": the libraries refuse to make them."""
    torch = need("torch")
    with pytest.raises(ValueError, match="too big"):
        np.empty((2**32, 2**32), np.int8)
    with pytest.raises(RuntimeError, match="overflow"):
        torch.empty((2**32, 2**32), dtype=torch.int8, device="meta")


@pytest.mark.needs("jax")
def test_jax_eval_shape_past_2_to_the_63_elements_gets_the_right_shape() -> None:
    jax = need("jax")
    import jax.numpy as jnp

    big = jax.ShapeDtypeStruct((2**40, 4 * 2**30, 2**10, 2**10), jnp.int8)  # 2**102 elements
    out = jax.eval_shape(lambda a: subpixel.pixel_shuffle(a, 2), big)
    assert out.shape == (2**40, 2**30, 2**11, 2**11)
    assert out.dtype == jnp.int8
    back = jax.eval_shape(lambda a: subpixel.pixel_unshuffle(a, (2, 2), channels_last=True), big)
    assert back.shape == (2**40, 2**31, 2**9, 2**12)
    # The struct itself is a description, not an array.
    expect_error(lambda: subpixel.pixel_shuffle(big, 2), "x", (TypeError,))


# --- objects that are not arrays ---------------------------------------------------------------

NOT_ARRAYS = [
    None,
    3,
    2.5,
    True,
    1 + 2j,
    "abcd",
    b"abcd",
    [[[[1.0] * 2] * 2] * 4],
    ((1, 2), (3, 4)),
    {"x": 1},
    {1, 2},
    range(16),
    memoryview(b"abcd"),
    object(),
    type("HasShape", (), {"shape": (1, 4, 2, 2), "dtype": "float32"})(),
]


@pytest.mark.parametrize("obj", NOT_ARRAYS, ids=lambda obj: type(obj).__name__)
@pytest.mark.parametrize("inverse", [False, True])
def test_objects_that_are_not_arrays_are_a_type_error_naming_x(obj: Any, inverse: bool) -> None:
    func = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    expect_error(lambda: func(obj, 2), "x", (TypeError,))
    expect_error(lambda: func(obj, (2, 2), channels_last=True, order="DCR"), "x", (TypeError,))


def test_a_python_array_module_array_is_not_an_array() -> None:
    import array

    expect_error(lambda: subpixel.pixel_shuffle(array.array("f", [0.0] * 16), 2), "x", (TypeError,))


@pytest.mark.parametrize("value", [np.float64(1.5), np.array(1.5), np.int8(3)], ids=repr)
def test_numpy_scalars_and_0d_arrays_have_too_few_axes(value: Any) -> None:
    expect_error(lambda: subpixel.pixel_shuffle(value, 2), "x", (ValueError,))
    expect_error(lambda: subpixel.pixel_unshuffle(value, (1,)), "x", (ValueError,))


@pytest.mark.parametrize("nbytes", ["small", "large"])
def test_object_structured_string_and_datetime_arrays_move_whole_items(nbytes: str) -> None:
    side = 2 if nbytes == "small" else 96  # past the NumPy fast path's small-array threshold
    shape = (1, 8, side, side)
    objects = np.empty(shape, dtype=object)
    for i, index in enumerate(np.ndindex(shape)):
        objects[index] = (i, object())
    y = subpixel.pixel_shuffle(objects, 2, order="DCR")
    want = reference(objects, 2, inverse=False, channels_last=False, order="DCR")
    assert y.dtype == object
    assert all(a is b for a, b in zip(y.reshape(-1), want.reshape(-1), strict=True))
    rng = np.random.default_rng(0)
    structured = np.zeros(shape, dtype=[("a", "<i4"), ("b", ">f8"), ("c", "S3")])
    structured["a"] = rng.integers(0, 2**31, shape)
    structured["b"] = special_array(shape, "float64", rng)
    structured["c"] = rng.integers(0, 1000, shape).astype("S3")
    strings = rng.integers(0, 10**6, shape).astype("U7")
    dates = rng.integers(0, 2**40, shape).astype("datetime64[s]")
    for x in (structured, strings, dates):
        for inverse in (False, True):
            func = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
            want = reference(x, (2, 2), inverse=inverse, channels_last=False, order="DCR")
            assert_same_bits(func(x, (2, 2), order="DCR"), want)


# --- subclasses -------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [2, 128], ids=["small", "large"])
def test_masked_arrays_keep_their_mask_shuffled_with_the_data(side: int) -> None:
    rng = np.random.default_rng(1)
    data = special_array((2, 8, side, side), "float32", rng)
    mask = rng.integers(0, 2, data.shape).astype(bool)
    x = np.ma.MaskedArray(data, mask=mask, fill_value=-7.0)
    y = subpixel.pixel_shuffle(x, 2)
    assert isinstance(y, np.ma.MaskedArray)
    assert_same_bits(np.ma.getdata(y), reference(data, 2, inverse=False, channels_last=False, order="CRD"))
    assert_same_bits(
        np.ma.getmaskarray(y), reference(mask, 2, inverse=False, channels_last=False, order="CRD")
    )
    back = subpixel.pixel_unshuffle(y, 2)
    assert_same_bits(np.ma.getdata(back), data)
    assert_same_bits(np.ma.getmaskarray(back), mask)
    assert not np.shares_memory(np.ma.getdata(y), data)
    assert not np.shares_memory(np.ma.getmaskarray(y), mask)


def test_masked_arrays_without_a_mask_give_the_right_data() -> None:
    data = special_array((1, 4, 3, 3), "int16", np.random.default_rng(2))
    y = subpixel.pixel_shuffle(np.ma.MaskedArray(data), 2, order="DCR")
    assert_same_bits(np.ma.getdata(y), reference(data, 2, inverse=False, channels_last=False, order="DCR"))
    assert not np.ma.getmaskarray(y).any()


def _matrix(values: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(values)


def test_np_matrix_gets_a_correct_result_or_an_error_naming_x() -> None:
    """A matrix is 2-D only: a 1-D shuffle of ``(C * F, S)`` passes through 3-D shapes."""
    values = special_array((6, 5), "float64", np.random.default_rng(3))
    for inverse, factor in ((False, (3,)), (True, (5,))):
        func = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
        want = reference(values, factor, inverse=inverse, channels_last=False, order="CRD")
        result_or_error(lambda: func(_matrix(values), factor), want, "x")  # noqa: B023
    expect_error(lambda: subpixel.pixel_shuffle(_matrix(values), 2), "x", (ValueError,))


@pytest.mark.needs("torch")
def test_a_torch_parameter_gives_a_plain_tensor_whose_gradient_flows() -> None:
    torch = need("torch")
    values = special_array((2, 8, 3, 3), "float64", np.random.default_rng(4))
    p = torch.nn.Parameter(torch.from_numpy(values.copy()))
    y = subpixel.pixel_shuffle(p, 2)
    assert type(y) is torch.Tensor
    assert y.requires_grad
    assert_same_bits(
        y.detach().numpy(), reference(values, 2, inverse=False, channels_last=False, order="CRD")
    )
    upstream = torch.from_numpy(special_array(tuple(y.shape), "float64", np.random.default_rng(5)))
    y.backward(upstream)
    assert p.grad is not None
    assert_same_bits(
        p.grad.numpy(), reference(upstream.numpy(), 2, inverse=True, channels_last=False, order="CRD")
    )


@pytest.mark.needs("torch")
@pytest.mark.parametrize("side", [3, 96], ids=["small", "large"])
@pytest.mark.parametrize(("channels_last", "order"), [(False, "CRD"), (True, "DCR"), (False, "DCR")])
@pytest.mark.parametrize("inverse", [False, True])
def test_gradients_flow_through_shuffle_and_unshuffle(
    side: int, channels_last: bool, order: Order, inverse: bool
) -> None:
    """The gradient of a shuffle is the unshuffle of the upstream gradient, and vice versa."""
    torch = need("torch")
    rng = np.random.default_rng(6)
    spatial = (2 * side, 2 * side)
    shape = (2, *spatial, 8) if channels_last else (2, 8, *spatial)
    values = rng.standard_normal(shape)
    x = torch.from_numpy(values.copy()).requires_grad_(True)
    func = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    y = func(x, 2, channels_last=channels_last, order=order)
    upstream = rng.standard_normal(tuple(y.shape))
    (grad,) = torch.autograd.grad(y, x, torch.from_numpy(upstream), create_graph=True)
    assert_same_bits(
        grad.detach().numpy(),
        reference(upstream, 2, inverse=not inverse, channels_last=channels_last, order=order),
    )
    # Second order: the backward is itself differentiable, and its derivative is the forward.
    u = torch.from_numpy(upstream.copy()).requires_grad_(True)
    (grad,) = torch.autograd.grad(
        func(x, 2, channels_last=channels_last, order=order), x, u, create_graph=True
    )
    w = rng.standard_normal(tuple(grad.shape))
    (second,) = torch.autograd.grad(grad, u, torch.from_numpy(w))
    assert_same_bits(
        second.numpy(), reference(w, 2, inverse=inverse, channels_last=channels_last, order=order)
    )


@pytest.mark.needs("torch")
def test_torch_gradcheck_through_the_functional_api() -> None:
    torch = need("torch")
    x = torch.randn(1, 8, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: subpixel.pixel_shuffle(t, (2, 2), order="DCR"), (x,))
    assert torch.autograd.gradcheck(lambda t: subpixel.pixel_unshuffle(t, (1, 3)), (x,))


@pytest.mark.needs("torch")
@pytest.mark.parametrize("side", [2, 128], ids=["small", "large"])
def test_torch_subclasses_lazy_conjugates_and_negations(side: int) -> None:
    torch = need("torch")

    class Tagged(torch.Tensor):  # type: ignore[misc,name-defined]  # torch is imported at run time
        pass

    rng = np.random.default_rng(7)
    values = special_array((1, 4, side, side), "complex64", rng)
    want = reference(np.conj(values), 2, inverse=False, channels_last=False, order="CRD")
    lazy = torch.from_numpy(values.copy()).conj()
    assert lazy.is_conj()
    assert_same_bits(subpixel.pixel_shuffle(lazy, 2).resolve_conj().numpy(), want)
    negated = torch.from_numpy(values.copy()).conj().imag  # a lazily negated view
    assert negated.is_neg()
    want_neg = reference(-values.imag, 2, inverse=False, channels_last=False, order="CRD")
    assert_same_bits(subpixel.pixel_shuffle(negated, 2).resolve_neg().numpy(), want_neg)
    tagged = torch.from_numpy(values.real.copy()).as_subclass(Tagged)
    y = subpixel.pixel_shuffle(tagged, 2)
    assert isinstance(y, Tagged)
    want_real = reference(values.real.copy(), 2, inverse=False, channels_last=False, order="CRD")
    assert_same_bits(y.as_subclass(torch.Tensor).numpy(), want_real)


@pytest.mark.needs("torch")
def test_torch_sparse_tensors_get_a_correct_result_or_an_error_naming_x() -> None:
    torch = need("torch")
    values = np.arange(32, dtype=np.float32).reshape(2, 4, 2, 2) * (
        np.arange(32).reshape(2, 4, 2, 2) % 3 == 0
    )
    sparse = torch.from_numpy(values).to_sparse()
    want = reference(values, 2, inverse=False, channels_last=False, order="CRD")
    result_or_error(lambda: subpixel.pixel_shuffle(sparse, 2), want, "x", lambda t: t.to_dense().numpy())


# --- JAX tracers -----------------------------------------------------------------------------------


@pytest.mark.needs("jax")
def test_jax_tracers_under_jit_vmap_grad_give_the_same_values() -> None:
    jax = need("jax")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    values = special_array((3, 8, 4, 5), "float64", np.random.default_rng(8))
    x = jnp.asarray(values)
    want = reference(values, 2, inverse=False, channels_last=False, order="DCR")
    jitted = jax.jit(lambda a: subpixel.pixel_shuffle(a, 2, order="DCR"))
    assert_same_bits(np.asarray(jitted(x)), want)
    mapped = jax.vmap(lambda a: subpixel.pixel_shuffle(a, 2, order="DCR"))  # per item: (8, 4, 5)
    assert_same_bits(np.asarray(mapped(x)), want)
    mapped_axis = jax.vmap(lambda a: subpixel.pixel_shuffle(a, 2, order="DCR"), in_axes=1, out_axes=1)
    swapped = np.ascontiguousarray(values.swapaxes(0, 1))
    assert_same_bits(np.asarray(mapped_axis(jnp.asarray(swapped))), np.ascontiguousarray(want.swapaxes(0, 1)))
    # Ordinary numbers: XLA's multiply in the gradient flushes subnormals to zero on CPU.
    weights = np.random.default_rng(9).standard_normal(want.shape)
    grad = jax.grad(lambda a: jnp.sum(subpixel.pixel_shuffle(a, 2, order="DCR") * weights))(x)
    assert_same_bits(np.asarray(grad), reference(weights, 2, inverse=True, channels_last=False, order="DCR"))
    _, tangent = jax.jvp(lambda a: subpixel.pixel_unshuffle(a, (2, 1)), (x,), (x,))
    assert_same_bits(
        np.asarray(tangent), reference(values, (2, 1), inverse=True, channels_last=False, order="CRD")
    )


@pytest.mark.needs("jax")
def test_a_traced_factor_is_a_type_error_naming_the_factor() -> None:
    jax = need("jax")
    import jax.numpy as jnp

    x = jnp.zeros((1, 4, 2, 2))
    expect_error(lambda: jax.jit(subpixel.pixel_shuffle)(x, 2), "upscale_factor", (TypeError,))
    expect_error(lambda: jax.jit(lambda a, r: subpixel.pixel_unshuffle(a, (r, 1)))(x, 2), "downscale_factor")
    expect_error(
        lambda: jax.jit(lambda a: subpixel.pixel_shuffle(a, 2**40))(x), "upscale_factor", (ValueError,)
    )


# --- devices and lazy arrays ------------------------------------------------------------------------


@pytest.mark.needs("torch")
@pytest.mark.parametrize("side", [2, 256], ids=["small", "large"])
def test_torch_meta_device_tensors_give_meta_results(side: int) -> None:
    torch = need("torch")
    x = torch.empty((2, 16, side, side), device="meta", requires_grad=True)
    y = subpixel.pixel_shuffle(x, (2, 4), order="DCR")
    assert y.device.type == "meta"
    assert tuple(y.shape) == (2, 2, 2 * side, 4 * side)
    z = subpixel.pixel_unshuffle(y, (2, 4), channels_last=True)
    assert z.device.type == "meta"
    assert tuple(z.shape) == output_shape(tuple(y.shape), (2, 4), inverse=True, channels_last=True)
    y.sum().backward()
    assert x.grad is not None
    assert x.grad.device.type == "meta"


@pytest.mark.needs("dask")
def test_dask_arrays_of_unknown_sizes_are_a_value_error_naming_x() -> None:
    da = need("dask", "dask.array")
    base = da.from_array(np.ones((4, 16, 2, 2)), chunks=2)
    unknown_batch = base[base[:, 0, 0, 0] > 0]  # shape (nan, 16, 2, 2)
    assert math.isnan(unknown_batch.shape[0])
    for x in (unknown_batch, unknown_batch.transpose(1, 0, 2, 3)):
        message = expect_error(lambda: subpixel.pixel_shuffle(x, 2), "x", (ValueError,))  # noqa: B023
        assert "unknown" in message


# --- layers of one framework given another library's arrays --------------------------------------


#: (framework, layer, input library, accepted): each framework's layers take their own arrays
#: (Flax and Keras also NumPy, as their own layers do); another framework's tensor is a TypeError,
#: as it is for torch.nn.PixelShuffle given a NumPy array.
LAYER_CASES = [
    ("torch", "PixelShuffle", "numpy", False),
    ("torch", "PixelShuffle", "jax", False),
    ("torch", "PixelUnshuffle", "numpy", False),
    ("flax", "PixelShuffle", "torch", False),
    ("flax", "PixelShuffle", "numpy", True),
    ("flax", "PixelUnshuffle", "torch", False),
]


def _layer_case(framework: str, name: str, library: str, accepted: bool) -> Any:
    """A case, collected only when the run requests the layer's framework and the array's library."""
    needed = {"torch": ("torch",), "flax": ("jax", "flax")}[framework]
    if library != "numpy" and library not in needed:
        needed = (*needed, library)
    return pytest.param(
        framework,
        name,
        library,
        accepted,
        marks=pytest.mark.needs(*needed),
        id=f"{framework}-{name}-{library}",
    )


@pytest.mark.parametrize(
    ("framework", "name", "library", "accepted"), [_layer_case(*case) for case in LAYER_CASES]
)
def test_shuffle_layers_given_another_librarys_array(
    framework: str, name: str, library: str, accepted: bool
) -> None:
    """The right values for arrays a layer's framework takes; a clear TypeError for others."""
    need(library)
    if framework == "torch":
        need("torch")
    else:
        need("jax")
        need("flax")
    layer = getattr(importlib.import_module(f"subpixel.{framework}"), name)(2)
    inverse = name == "PixelUnshuffle"
    channels_last = framework == "flax"  # Flax layers are channels-last, like Flax
    shape = (2, 6, 6, 8) if channels_last else (2, 8, 6, 6)
    values = special_array(shape, "float32", np.random.default_rng(10))
    x = Backend(library).from_numpy(values)
    if not accepted:
        with pytest.raises(TypeError, match=rf"{name}.*(input|x).*{type(x).__name__}"):
            layer(x)
        return
    result = layer(x)
    want = reference(values, 2, inverse=inverse, channels_last=channels_last, order="CRD")
    assert_same_bits(to_numpy(result), want)


@pytest.mark.needs("torch", "jax", "keras")
def test_keras_layers_take_numpy_and_reject_other_frameworks_tensors() -> None:
    """Keras layers convert NumPy arrays (the values must be right) and refuse a torch tensor."""
    torch = need("torch")
    need("jax")  # the Keras backend of the test suite
    need("keras")
    keras_layers = importlib.import_module("subpixel.keras")
    values = special_array((2, 8, 3, 3), "float32", np.random.default_rng(11))
    want = reference(values, 2, inverse=False, channels_last=False, order="CRD")
    layer = keras_layers.PixelShuffle(2, data_format="channels_first")
    assert_same_bits(np.asarray(layer(values)), want)
    with pytest.raises(TypeError, match=r"PixelShuffle: inputs must be .*got torch\.Tensor"):
        layer(torch.from_numpy(values.copy()))


@pytest.mark.needs("torch", "jax", "flax")
def test_layers_with_weights_given_another_librarys_array_fail_cleanly_or_compute() -> None:
    """A convolution of one framework on another's array: its own clean error, or a result."""
    torch = need("torch")
    need("jax")
    nnx = need("flax", "flax.nnx")
    import subpixel.flax
    import subpixel.torch

    values = special_array((1, 4, 5, 5), "float32", np.random.default_rng(12))
    values[~np.isfinite(values)] = 0.0
    conv = subpixel.torch.SubPixelConv(4, 3, 2)
    with pytest.raises(TypeError, match="numpy"):
        conv(values)
    flax_conv = subpixel.flax.SubPixelConv(4, 3, 2, rngs=nnx.Rngs(0))
    as_torch = torch.from_numpy(np.ascontiguousarray(values.transpose(0, 2, 3, 1)))
    try:
        out = flax_conv(as_torch)
    except (TypeError, ValueError):
        return
    assert out.shape[0] == 1
    assert out.shape[-1] == 3


# --- a subprocess check that hostile inputs never crash the interpreter ---------------------------


def test_hostile_cases_never_abort_the_interpreter() -> None:
    """Every case above that reaches a C++ library, replayed in one child: it must exit normally.

    NumPy always (every run has it), torch and JAX where the run requests them.
    """
    requested = [b.module_name for b in requested_backends() if b.value in ("torch", "jax")]
    libraries = ["numpy", *requested]
    script = textwrap.dedent(
        f"""
        import importlib, sys
        sys.path.insert(0, {ROOT!r})
        import subpixel
        cases = 0
        for name in {libraries!r}:
            make = importlib.import_module(name).zeros
            for shape, factor in [((1, 1, 0, 0), 2**32), ((1, 0, 5, 5), 2**40), ((1, 1, 0, 0), 2**31)]:
                for func in (subpixel.pixel_shuffle, subpixel.pixel_unshuffle):
                    cases += 1
                    try:
                        func(make(shape), factor)
                    except (TypeError, ValueError):
                        pass
        print("cases", cases)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    assert f"cases {6 * len(libraries)}" in done.stdout
