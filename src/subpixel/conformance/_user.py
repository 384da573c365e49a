"""Check anyone's pixel shuffle: rows for a user's function, with torch's semantics by default.

``python -m subpixel conformance --impl package.module:function`` imports ``function`` and runs
the matrix on it as ``function(x, upscale_factor)``: a channels-first, ``CRD`` shuffle, as
``torch.nn.functional.pixel_shuffle``, on NumPy arrays (and torch tensors when torch is
installed). Options the function has are declared, and the cases that need the others are
"not applicable":

- ``inverse="package.module:unshuffle"``: the inverse function, same signature;
- ``options={"channels_last", "order", "tuple_factors"}``: the function takes the keywords
  ``channels_last=`` and ``order=`` (as :func:`subpixel.pixel_shuffle`) or tuple factors;
- ``backends``: the array backends to call it on.

``--impl model.onnx`` (or ``.tflite``, ``.pte``) checks an exported file instead: see
:func:`register_artefact`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

from subpixel.conformance._cases import (
    OPTION_CHANNELS_LAST,
    OPTION_INVERSE,
    OPTION_ORDER,
    OPTION_TUPLE,
    installed,
)
from subpixel.conformance._registry import Implementation, register_implementation

__all__ = [
    "ARTEFACT_OPTIONS",
    "USER_OPTIONS",
    "artefact_row",
    "load_function",
    "register_artefact",
    "register_user_function",
]

#: Options a user's function may declare besides its inverse.
USER_OPTIONS = frozenset({OPTION_CHANNELS_LAST, OPTION_ORDER, OPTION_TUPLE})

#: What an exported file may be declared: its layout and its channel order (default CRD, channels first).
ARTEFACT_OPTIONS = frozenset({OPTION_CHANNELS_LAST, "order=CRD", "order=DCR"})


def load_function(spec: str) -> Callable[..., Any]:
    """Import ``package.module:function`` (the function may be a dotted attribute path).

    Raises
    ------
    ValueError
        If ``spec`` has no ``:``, or the module cannot be imported (whatever its import raised),
        or the attribute does not exist or is not callable.
    """
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        msg = f"load_function: spec must be 'package.module:function', got {spec!r}"
        raise ValueError(msg)
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as error:  # not only ImportError: the module may fail while it runs
        why = f"{type(error).__name__}: {error}"
        msg = f"load_function: cannot import module {module_name!r} of spec {spec!r}: {why}"
        raise ValueError(msg) from error
    for part in attribute.split("."):
        if not hasattr(found, part):
            msg = f"load_function: {module_name!r} has no attribute {attribute!r} (spec {spec!r})"
            raise ValueError(msg)
        found = getattr(found, part)
    if not callable(found):
        msg = f"load_function: {spec!r} is a {type(found).__name__}, not a function"
        raise ValueError(msg)
    function: Callable[..., Any] = found
    return function


def register_user_function(
    spec: str,
    *,
    inverse: str | None = None,
    options: Iterable[str] = (),
    backends: Iterable[str] | None = None,
) -> list[str]:
    """Register one matrix row per backend for the function ``spec``; return the row names.

    Parameters
    ----------
    spec : str
        ``package.module:function``, called as ``function(x, upscale_factor)`` plus the keywords
        of the declared ``options``.
    inverse : str, optional
        ``package.module:function`` of the inverse (unshuffle), same signature.
    options : iterable of str
        Among ``channels_last``, ``order`` and ``tuple_factors``.
    backends : iterable of str, optional
        Array backends to run it on; default NumPy, and torch when installed.

    Returns
    -------
    list of str
        The names of the registered rows (``spec`` on NumPy, ``spec [torch]`` and so on).

    Raises
    ------
    ValueError
        If ``options`` names an unknown option, or a function cannot be imported.
    """
    declared = frozenset(options)
    unknown = sorted(declared - USER_OPTIONS)
    if unknown:
        msg = f"register_user_function: options must be among {sorted(USER_OPTIONS)}, got {unknown}"
        raise ValueError(msg)
    forward = load_function(spec)
    backward = load_function(inverse) if inverse is not None else None
    chosen = list(backends) if backends is not None else ["numpy"]
    if backends is None and installed("torch"):
        chosen.append("torch")
    keywords = declared & {OPTION_CHANNELS_LAST, OPTION_ORDER}

    def call(x: Any, factor: Any, is_inverse: bool, channels_last: bool, order: str) -> Any:
        function = backward if is_inverse else forward
        if function is None:  # pragma: no cover - the engine skips inverse cases without the option
            msg = "no inverse function declared"
            raise NotImplementedError(msg)
        extra: dict[str, Any] = {}
        if OPTION_CHANNELS_LAST in keywords:
            extra["channels_last"] = channels_last
        if OPTION_ORDER in keywords:
            extra["order"] = order
        return function(x, factor, **extra)

    row_options = declared | ({OPTION_INVERSE} if backward is not None else set())
    names = []
    for backend in chosen:
        name = spec if backend == "numpy" else f"{spec} [{backend}]"
        register_implementation(
            Implementation(
                name,
                backend,
                call,
                options=frozenset(row_options),
                requires=(backend,),
                description=f"{spec} on {backend}" + (f", inverse {inverse}" if inverse else ""),
            ),
            replace=True,
        )
        names.append(name)
    return names


def register_artefact(
    file: str, *, inverse: str | None = None, options: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Register a matrix row for an exported file; return the row names and one line per file.

    The file's first input and first output are the array in and out; the direction, factor,
    channels, dtype and fixed sizes are read from the file (see
    :mod:`subpixel.conformance.deploy._artefact`), its layout and order declared by ``options``.

    Parameters
    ----------
    file : str
        A ``.onnx``, ``.tflite`` or ``.pte`` file.
    inverse : str, optional
        A second file, of the other direction.
    options : iterable of str
        Among ``channels_last``, ``order=CRD`` and ``order=DCR``.

    Raises
    ------
    ValueError
        If an option is unknown, a file is missing or cannot be opened, or both files go the
        same way.
    """
    from pathlib import Path

    from subpixel.conformance.deploy._artefact import Declared, is_artefact, open_artefact

    declared_options = frozenset(options)
    unknown = sorted(declared_options - ARTEFACT_OPTIONS)
    if unknown or {"order=CRD", "order=DCR"} <= declared_options:
        known = sorted(ARTEFACT_OPTIONS)
        msg = f"options of a file must be among {known} (one order), got {sorted(declared_options)}"
        raise ValueError(msg)
    declared = Declared(
        channels_last=OPTION_CHANNELS_LAST in declared_options,
        order="DCR" if "order=DCR" in declared_options else "CRD",
    )
    runners = {}
    for name in [file] if inverse is None else [file, inverse]:
        path = Path(name)
        if not is_artefact(name):
            msg = f"{name!r} is not an exported file (.onnx, .tflite, .pte) like {file!r}"
            raise ValueError(msg)
        if not path.is_file():
            msg = f"no such file: {name!r}"
            raise ValueError(msg)
        runner = open_artefact(path)
        runner.probe(declared.channels_last)
        if runner.inverse in runners:
            msg = f"{file!r} and {name!r} are both {'unshuffles' if runner.inverse else 'shuffles'}"
            raise ValueError(msg)
        runners[runner.inverse] = runner

    def call(x: Any, factor: Any, is_inverse: bool, channels_last: bool, order: str) -> Any:
        from subpixel.conformance._backends import NotApplicableError

        runner = runners.get(is_inverse)
        if runner is None:
            what = "unshuffle" if is_inverse else "shuffle"
            msg = f"no {what} file given (--impl-inverse names the other direction)"
            raise NotApplicableError(msg)
        return runner.call(x, factor, is_inverse, channels_last, order, declared)

    name = file if inverse is None else f"{file} + {inverse}"
    if declared_options:
        name += f" [{','.join(sorted(declared_options))}]"
    lines = [
        r.describe() + ("; runs only the cases of that shape" if r.static else "") for r in runners.values()
    ]
    register_implementation(
        Implementation(
            name,
            "numpy",
            call,
            options=frozenset({OPTION_CHANNELS_LAST, OPTION_ORDER, OPTION_TUPLE, OPTION_INVERSE}),
            requires=("numpy",),
            description="; ".join(lines),
        ),
        replace=True,
    )
    return [name], lines


def artefact_row(name: str) -> tuple[list[str], list[str]] | None:
    """Read the row name :func:`register_artefact` gives: ``(files, options)``, or None for another name.

    ``a.onnx``, ``a.onnx + b.onnx`` and ``a.tflite [channels_last,order=DCR]`` name files.
    """
    from subpixel.conformance.deploy._artefact import is_artefact

    files_part, bracket, rest = name.partition(" [")
    options = rest.removesuffix("]").split(",") if bracket and rest.endswith("]") else []
    files = files_part.split(" + ")
    if not all(is_artefact(f) for f in files) or len(files) > 2:
        return None
    return files, options
