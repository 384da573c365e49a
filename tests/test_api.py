"""The public functions on every requested backend: agreement with torch, options, errors.

torch's ``pixel_shuffle`` is the reference where torch is installed; without it the same tests
compare with the documented index formula (``tests/reference.py``), and the golden vectors (torch's
recorded results) keep the torch comparison on every backend.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import types
from collections.abc import Callable
from typing import Any

import array_api_compat
import numpy as np
import pytest

import subpixel
from subpixel.conformance._cases import all_cases, documented_shape
from subpixel.conformance._golden import load_golden
from subpixel.conformance._references import ReferenceBook
from tests.backends import Backend, to_numpy
from tests.reference import Order, reference
from tests.values import assert_same_bits, same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

#: Whether live torch is the reference here; the index formula stands in without it.
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def _through_torch(layer: Any, x: Any) -> Any:
    """Run a torch layer on ``x``; unsigned ints torch cannot shuffle go through a signed view."""
    import torch

    x = np.ascontiguousarray(x)
    if x.dtype.kind == "u" and x.dtype.itemsize > 1:
        signed = np.dtype(f"i{x.dtype.itemsize}")
        return layer(torch.from_numpy(x.view(signed))).numpy().view(x.dtype)
    return layer(torch.from_numpy(x)).numpy()


def torch_shuffle(x: Any, r: int) -> Any:
    """torch.nn.PixelShuffle's result, or the index formula's without torch."""
    if not HAVE_TORCH:
        return reference(np.asarray(x), r, inverse=False, channels_last=False, order="CRD")
    import torch

    return _through_torch(torch.nn.PixelShuffle(r), x)


def torch_unshuffle(x: Any, r: int) -> Any:
    """torch.nn.PixelUnshuffle's result, or the index formula's without torch."""
    if not HAVE_TORCH:
        return reference(np.asarray(x), r, inverse=True, channels_last=False, order="CRD")
    import torch

    return _through_torch(torch.nn.PixelUnshuffle(r), x)


#: Cases torch's op defines (and the golden vectors record), and dtypes every backend has.
GOLDEN_CASES = [case for case in all_cases(quick=True) if case.torch_native and not case.round_trip]
GOLDEN_DTYPES = ["float32", "int8", "uint8", "bool", "float64"]


@pytest.fixture(scope="module")
def golden_book() -> ReferenceBook:
    """The conformance inputs, built once for this module."""
    return ReferenceBook(use_torch=False, use_onnx=False)


@pytest.mark.parametrize("dtype", GOLDEN_DTYPES)
def test_agrees_with_torchs_recorded_results(
    backend: Backend, dtype: str, golden_book: ReferenceBook
) -> None:
    """Every quick torch-defined conformance case gives the shape and SHA-256 torch recorded."""
    golden = load_golden()
    checked = 0
    for case in GOLDEN_CASES:
        stored = golden.lookup(case.id, dtype)
        if stored is None:  # a case torch's recording does not hold (autodiff, torch memory formats)
            continue
        shape, sha256, _ = stored
        assert shape == documented_shape(case.shape, case.factors, case.inverse, case.channels_last)
        call = subpixel.pixel_unshuffle if case.inverse else subpixel.pixel_shuffle
        x = backend.from_numpy(np.array(golden_book.input(case, dtype)))
        y = np.ascontiguousarray(
            to_numpy(call(x, case.factor, channels_last=case.channels_last, order=case.order))
        )
        assert tuple(y.shape) == shape, case.describe()
        assert hashlib.sha256(y.tobytes()).hexdigest() == sha256, case.describe()
        checked += 1
    assert checked >= 20


SHUFFLE_SHAPES = [(4, 3, 5), (1, 4, 3, 3), (2, 12, 4, 2), (2, 3, 8, 1, 7), (0, 4, 2, 2), (1, 4, 0, 3)]


@pytest.mark.parametrize("r", [1, 2, 3])
@pytest.mark.parametrize("batch_shape", [(), (2,), (2, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "uint16", "bool", "complex64"])
def test_shuffle_and_unshuffle_match_torch(
    backend: Backend, r: int, batch_shape: tuple[int, ...], dtype: str
) -> None:
    x = special_array((*batch_shape, 2 * r * r, 3, 4), dtype)
    y = subpixel.pixel_shuffle(backend.from_numpy(x), r)
    assert type(y) is type(backend.from_numpy(x))
    expected = torch_shuffle(x, r)
    assert same_bits(to_numpy(y), expected)
    back = subpixel.pixel_unshuffle(backend.from_numpy(expected), r)
    assert same_bits(to_numpy(back), torch_unshuffle(expected, r))
    assert same_bits(to_numpy(back), x)


def test_espcn_example_matches_torch(backend: Backend) -> None:
    x = np.arange(36).reshape(1, 4, 3, 3)
    y = to_numpy(subpixel.pixel_shuffle(backend.from_numpy(x), 2))
    expected = torch_shuffle(x.astype(np.int64), 2)
    assert same_bits(y.astype(np.int64), expected)
    assert y[0, 0, 0].tolist() == [0, 9, 1, 10, 2, 11]


def test_unshuffle_of_zero_size_has_the_documented_shape(backend: Backend) -> None:
    y = subpixel.pixel_unshuffle(backend.from_numpy(np.zeros((0, 3, 4, 6), np.float32)), 2)
    assert tuple(y.shape) == (0, 12, 2, 3)


def test_tensorflow_depth_to_space_examples(backend: Backend) -> None:
    """The examples in TensorFlow's ``depth_to_space`` documentation (NHWC, DCR)."""
    x = np.arange(1, 13).reshape(1, 1, 1, 12)
    y = to_numpy(subpixel.pixel_shuffle(backend.from_numpy(x), 2, channels_last=True, order="DCR"))
    assert y.tolist() == [[[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]]
    x = np.array([1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16]).reshape(1, 2, 2, 4)
    y = to_numpy(subpixel.pixel_shuffle(backend.from_numpy(x), 2, channels_last=True, order="DCR"))
    assert y[0, :, :, 0].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("order", ["CRD", "DCR"])
@pytest.mark.parametrize("factors", [(2,), (3,), (2, 3), (1, 4), (2, 1, 3), (2, 2, 2)])
def test_options_follow_their_definition(
    backend: Backend, channels_last: bool, order: Order, factors: tuple[int, ...]
) -> None:
    """Channels-last moves the axis; DCR permutes channels; k factors act on k axes."""
    out_channels, spatial = 2, (3, 2, 4)[: len(factors)]
    product = int(np.prod(factors))
    x = special_array((2, out_channels * product, *spatial), np.float32, seed=len(factors))
    given = np.moveaxis(x, 1, -1) if channels_last else x
    y = to_numpy(
        subpixel.pixel_shuffle(backend.from_numpy(given), factors, channels_last=channels_last, order=order)
    )
    expected = np.empty(
        (2, out_channels, *(s * f for s, f in zip(spatial, factors, strict=True))), np.float32
    )
    for c in range(out_channels):
        for offset in np.ndindex(*factors):
            depth = int(np.ravel_multi_index(offset, factors))
            channel = c * product + depth if order == "CRD" else depth * out_channels + c
            target: tuple[Any, ...] = (
                slice(None),
                c,
                *(slice(o, None, f) for o, f in zip(offset, factors, strict=True)),
            )
            expected[target] = x[:, channel]
    assert same_bits(np.moveaxis(y, -1, 1) if channels_last else y, expected)
    back = subpixel.pixel_unshuffle(backend.from_numpy(y), factors, channels_last=channels_last, order=order)
    assert same_bits(to_numpy(back), given)


def test_int_factor_means_two_equal_axes(backend: Backend) -> None:
    x = special_array((2, 18, 2, 5))
    y1 = to_numpy(subpixel.pixel_shuffle(backend.from_numpy(x), 3))
    y2 = to_numpy(subpixel.pixel_shuffle(backend.from_numpy(x), (3, 3)))
    y3 = to_numpy(subpixel.pixel_shuffle(backend.from_numpy(x), np.int64(3)))
    assert same_bits(y1, y2)
    assert same_bits(y1, y3)


def test_shuffle_plan_applied_by_hand_matches() -> None:
    x = special_array((2, 12, 3, 5))
    plan = subpixel.shuffle_plan(x.shape, (2, 3), order="DCR")
    by_hand = np.reshape(np.transpose(np.reshape(x, plan.expand_shape), plan.axes), plan.collapse_shape)
    assert same_bits(by_hand, subpixel.pixel_shuffle(x, (2, 3), order="DCR"))
    _, _, collapse_shape = plan
    assert collapse_shape == (2, 2, 6, 15)
    inverse = subpixel.shuffle_plan(collapse_shape, (2, 3), inverse=True, order="DCR")
    assert inverse.collapse_shape == x.shape


# ---------------------------------------------------------------- errors

ERRORS: list[tuple[tuple[int, ...], Any, dict[str, Any], type[Exception], str]] = [
    (
        (1, 3, 4, 4),
        2,
        {},
        ValueError,
        r"channel axis of x must be divisible by 4 \(upscale_factor=2 squared\), but x\.shape\[1\]=3 "
        r"of shape \(1, 3, 4, 4\)",
    ),
    (
        (1, 5, 4, 4),
        (2, 3),
        {},
        ValueError,
        r"channel axis of x must be divisible by 6, the product of upscale_factor=\(2, 3\), but "
        r"x\.shape\[1\]=5 of shape \(1, 5, 4, 4\)",
    ),
    ((4, 4), 2, {}, ValueError, r"at least 3 dimensions.*got shape \(4, 4\)"),
    ((1, 4, 4, 4), 0, {}, ValueError, r"upscale_factor must be positive, got 0"),
    ((1, 4, 4, 4), -2, {}, ValueError, r"upscale_factor must be positive, got -2"),
    ((1, 4, 4, 4), (), {}, ValueError, r"upscale_factor must be a positive int .*got \(\)"),
    ((1, 4, 4, 4), 2.0, {}, TypeError, r"upscale_factor must be a positive int.*got 2\.0 of type float"),
    ((1, 4, 4, 4), True, {}, TypeError, r"upscale_factor .*got True of type bool"),
    ((1, 4, 4, 4), "2", {}, TypeError, r"upscale_factor .*got '2' of type str"),
    ((1, 4, 4, 4), (2, 2.5), {}, TypeError, r"upscale_factor .*\(2, 2\.5\)"),
    ((1, 4, 4, 4), 2, {"order": "crd"}, ValueError, r"order must be 'CRD' or 'DCR', got 'crd'"),
    ((1, 4, 4, 4), 2, {"channels_last": 1}, TypeError, r"channels_last must be a bool, got 1"),
]


@pytest.mark.parametrize(("shape", "factor", "options", "error", "message"), ERRORS)
def test_shuffle_rejects_bad_arguments(
    backend: Backend, shape: tuple[int, ...], factor: Any, options: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        subpixel.pixel_shuffle(backend.from_numpy(np.zeros(shape, np.float32)), factor, **options)


def test_unshuffle_rejects_indivisible_spatial_size(backend: Backend) -> None:
    x = backend.from_numpy(np.zeros((1, 1, 4, 6), np.float32))
    message = r"downscale_factor=\(2, 4\).*x\.shape\[3\]=6 of shape \(1, 1, 4, 6\) is not divisible by 4"
    with pytest.raises(ValueError, match=message):
        subpixel.pixel_unshuffle(x, (2, 4))
    with pytest.raises(ValueError, match=r"pixel_unshuffle: x must have at least 4 dimensions"):
        subpixel.pixel_unshuffle(backend.from_numpy(np.zeros((4, 4, 4), np.float32)), (2, 2, 2))


@pytest.mark.parametrize("not_an_array", [[[1, 2]], 3, None, "x"])
def test_non_arrays_are_a_type_error(not_an_array: object) -> None:
    with pytest.raises(TypeError, match=re.escape("pixel_shuffle: x must be an array")):
        subpixel.pixel_shuffle(not_an_array, 2)


def test_factor_by_keyword_as_in_torch(backend: Backend) -> None:
    x = special_array((2, 8, 3, 4), "float32")
    by_keyword = subpixel.pixel_shuffle(backend.from_numpy(x), upscale_factor=2)
    assert same_bits(to_numpy(by_keyword), to_numpy(subpixel.pixel_shuffle(backend.from_numpy(x), 2)))
    assert same_bits(to_numpy(by_keyword), torch_shuffle(x, 2))
    y = special_array((2, 2, 6, 4), "float32")
    back = subpixel.pixel_unshuffle(backend.from_numpy(y), downscale_factor=2, order="DCR")
    assert same_bits(
        to_numpy(back), to_numpy(subpixel.pixel_unshuffle(backend.from_numpy(y), 2, order="DCR"))
    )


@pytest.mark.needs("torch")
def test_keyword_spellings_of_torch_functional() -> None:
    import torch

    t = torch.from_numpy(special_array((1, 9, 2, 3), "float64"))
    functional = torch.nn.functional
    expected = functional.pixel_shuffle(t, upscale_factor=3)
    assert same_bits(subpixel.pixel_shuffle(t, upscale_factor=3).numpy(), expected.numpy())
    back = functional.pixel_unshuffle(expected, downscale_factor=3)
    assert same_bits(subpixel.pixel_unshuffle(expected, downscale_factor=3).numpy(), back.numpy())
    # The factor is checked the same way by keyword: a bool or float factor is a TypeError.
    with pytest.raises(TypeError, match="upscale_factor"):
        subpixel.pixel_shuffle(t, upscale_factor=True)
    with pytest.raises(TypeError, match="downscale_factor"):
        subpixel.pixel_unshuffle(t, downscale_factor=2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        subpixel.pixel_shuffle(t, factor=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        subpixel.pixel_shuffle(t, 3, upscale_factor=3)  # type: ignore[misc]


def test_shuffle_plan_validates_shape() -> None:
    with pytest.raises(TypeError, match="shape must hold only ints"):
        subpixel.shuffle_plan((1, 4.0, 2, 2), 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="shape must be a sequence of ints"):
        subpixel.shuffle_plan(7, 2)  # type: ignore[arg-type]


# ---------------------------------------------------------------- memory and layouts (NumPy)


@pytest.mark.parametrize("r", [1, 2])
def test_numpy_output_is_new_and_input_untouched(r: int) -> None:
    x = special_array((2, 4 * r * r, 1, 1))
    before = x.tobytes()
    y = subpixel.pixel_shuffle(x, r)
    z = subpixel.pixel_unshuffle(y, r)
    assert not np.shares_memory(x, y)
    assert not np.shares_memory(y, z)
    assert x.tobytes() == before


NUMPY_LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "transposed": lambda a: np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2),
    "fortran": np.asfortranarray,
    "sliced": lambda a: np.repeat(a, 3, axis=-1)[..., 1::3],
    "negative strides": lambda a: np.ascontiguousarray(a[..., ::-1, ::-1])[..., ::-1, ::-1],
    "read-only": lambda a: np.lib.stride_tricks.as_strided(a, writeable=False),
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
}


@pytest.mark.parametrize("layout", NUMPY_LAYOUTS)
def test_numpy_layouts(layout: str) -> None:
    x = special_array((2, 8, 3, 5))
    given = NUMPY_LAYOUTS[layout](x)
    assert same_bits(given.astype(np.float32), x)
    y = subpixel.pixel_shuffle(given, 2)
    assert y.dtype == given.dtype
    assert same_bits(y.astype(np.float32), torch_shuffle(x, 2))
    assert same_bits(subpixel.pixel_unshuffle(y, 2).astype(np.float32), x)


# ---------------------------------------------------------------- torch specifics


@pytest.mark.needs("torch")
def test_torch_channels_last_memory_format_is_kept() -> None:
    import torch

    x = torch.from_numpy(special_array((2, 8, 5, 3))).contiguous(memory_format=torch.channels_last)
    y = subpixel.pixel_shuffle(x, 2)
    native = torch.nn.functional.pixel_shuffle(x, 2)
    assert y.is_contiguous(memory_format=torch.channels_last) == native.is_contiguous(
        memory_format=torch.channels_last
    )
    assert y.stride() == native.stride()
    assert same_bits(y.numpy(), native.numpy())


@pytest.mark.needs("torch")
def test_torch_autograd_backward_is_the_inverse_shuffle() -> None:
    import torch

    x = torch.randn(2, 8, 3, 4, dtype=torch.float64, requires_grad=True)
    y = subpixel.pixel_shuffle(x, 2)
    weight = torch.randn_like(y)
    (y * weight).sum().backward()  # type: ignore[no-untyped-call]
    assert x.grad is not None
    assert same_bits(x.grad.numpy(), torch.nn.functional.pixel_unshuffle(weight, 2).numpy())
    assert torch.autograd.gradcheck(lambda t: subpixel.pixel_shuffle(t, (2, 4), order="DCR"), (x,))


@pytest.mark.slow
@pytest.mark.needs("torch")
def test_torch_compile_fullgraph() -> None:
    import torch

    def model(t: Any) -> Any:
        return subpixel.pixel_unshuffle(subpixel.pixel_shuffle(t, 2) * 2, 2, order="DCR")

    compiled = torch.compile(model, fullgraph=True, backend="eager")
    x = torch.randn(2, 8, 4, 4)
    assert same_bits(compiled(x).numpy(), model(x).numpy())


# ---------------------------------------------------------------- JAX transformations


@pytest.mark.needs("jax")
def test_jax_jit_vmap_grad() -> None:
    import jax
    import jax.numpy as jnp

    host = special_array((3, 8, 2, 5))
    x = jnp.asarray(host)
    expected = torch_shuffle(host, 2)
    assert same_bits(np.asarray(jax.jit(lambda t: subpixel.pixel_shuffle(t, 2))(x)), expected)
    assert same_bits(np.asarray(jax.vmap(lambda t: subpixel.pixel_shuffle(t, 2))(x)), expected)
    x = jnp.asarray(np.random.default_rng(1).standard_normal((2, 8, 3, 3)))
    weight = jnp.asarray(np.random.default_rng(2).standard_normal((2, 2, 6, 6)))
    grad = jax.grad(lambda t: (subpixel.pixel_shuffle(t, 2) * weight).sum())(x)
    assert same_bits(np.asarray(grad), torch_unshuffle(np.array(weight), 2))


@pytest.mark.parametrize("inverse", [False, True])
def test_xp_of_the_array_gives_the_same_bits(backend: Backend, inverse: bool) -> None:
    x = backend.from_numpy(special_array((2, 8, 4, 6), np.dtype(np.float32), np.random.default_rng(5)))
    f = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    expected = to_numpy(f(x, 2))
    own_namespaces = [backend.namespace(), array_api_compat.array_namespace(x)]
    for xp in own_namespaces:
        result = f(x, 2, xp=xp)
        assert type(result) is type(x)
        assert_same_bits(to_numpy(result), expected)


def test_xp_of_another_library_is_a_type_error_naming_both() -> None:
    x = np.zeros((1, 4, 2, 2), np.float32)
    stranger = types.ModuleType("not_numpy")
    with pytest.raises(
        TypeError, match=r"pixel_shuffle: xp must be the namespace of x \(.*numpy.*\).*not_numpy"
    ):
        subpixel.pixel_shuffle(x, 2, xp=stranger)
    with pytest.raises(TypeError, match=r"pixel_unshuffle: xp must be the namespace of x"):
        subpixel.pixel_unshuffle(x, 1, xp="numpy")  # type: ignore[arg-type]
    # A non-array is named as such first.
    with pytest.raises(TypeError, match=r"pixel_shuffle: x must be an array"):
        subpixel.pixel_shuffle([1, 2], 2, xp=np)


def test_xp_is_keyword_only() -> None:
    x = np.zeros((1, 4, 2, 2), np.float32)
    with pytest.raises(TypeError):
        subpixel.pixel_shuffle(x, 2, False, "CRD", np)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("f", "channels_last", "fix"),
    [
        (subpixel.pixel_unshuffle, False, "x[None]"),
        (subpixel.pixel_unshuffle, True, "x[..., None]"),
        (subpixel.pixel_shuffle, False, "x[None]"),
    ],
)
def test_a_two_dimensional_input_is_told_how_to_add_its_channel_axis(
    f: Any, channels_last: bool, fix: str
) -> None:
    raw = np.zeros((6, 8), np.uint16)  # one RAW mosaic, no channel axis
    with pytest.raises(
        ValueError, match=re.escape("got shape (6, 8); add the channel axis") + ".*" + re.escape(fix)
    ):
        f(raw, 2, channels_last=channels_last)
    # The fix works: an RGGB mosaic packs into its R, G1, G2, B planes.
    packed = subpixel.pixel_unshuffle(np.arange(48, dtype=np.uint16).reshape(6, 8)[None], 2)
    assert packed.shape == (4, 3, 4)
    assert packed[:, 0, 0].tolist() == [0, 1, 8, 9]


def test_a_one_dimensional_input_gets_no_channel_hint() -> None:
    with pytest.raises(ValueError, match=r"got shape \(6,\)$"):
        subpixel.pixel_unshuffle(np.zeros(6), 2)
