"""One deployment path: how a model leaves Python and how the deployed artefact runs.

A path exports (or converts) a model, loads the result into a runtime and runs it on NumPy
arrays. The deployment matrix (:mod:`subpixel.conformance.deploy`) runs each path on
subpixel's layer and on the framework's own op, on sizes other than the exported one, and
compares the bytes with the framework's eager result. One module per runtime declares its
paths; this module imports no framework and no runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Artefact", "ConversionError", "DeployPath", "Model"]


class ConversionError(RuntimeError):
    """The path cannot export, convert or load the model; the message says why (one line)."""


@dataclass(frozen=True)
class Model:
    """A model to deploy: one layer and the input it is exported with.

    Parameters
    ----------
    framework : str
        ``"torch"``, ``"keras"`` or ``"jax"``.
    layer : object
        The ``torch.nn.Module``, the Keras layer, or the function of JAX arrays to export.
    example : numpy.ndarray
        An input of the exported shape and dtype.
    dynamic_axes : tuple of int
        Axes of the input exported as dynamic (batch, spatial); empty for a static export.
    channels_last : bool
        Whether the input is channels-last (Keras' default layout).
    name : str
        The model's name in the report (``torch shuffle x2 CRD NCHW [subpixel]``): with the
        example's dtype, it names the model's files, so that paths that read the same exported
        file (onnxruntime, ``onnx.reference``, OpenVINO) export it once.
    multiple : int
        Every spatial size the model takes is a multiple of this (an unshuffle's factor):
        exporters that take symbolic sizes (JAX's) are told so, as ``2*h``.
    """

    framework: str
    layer: Any
    example: Any
    dynamic_axes: tuple[int, ...] = ()
    channels_last: bool = False
    name: str = ""
    multiple: int = 1


@dataclass
class Artefact:
    """What a path made: the deployed graph, ready to run.

    Parameters
    ----------
    handle : object
        What :attr:`DeployPath.run` needs (an inference session, a compiled model, ...).
    file : pathlib.Path or None
        The file written (``.onnx``, ``.tflite``, ``.pte``, ...), if any.
    op_types : list of str
        The operator types of the deployed graph in order (ONNX node types, TFLite builtin
        codes, ncnn layer types, MIL ops, ...): the report counts and lists them.
    max_rank : int or None
        The highest tensor rank in the graph, where the format tells it.
    dynamic : bool
        Whether the artefact accepts sizes other than the example's on its dynamic axes.
    """

    handle: Any
    file: Path | None = None
    op_types: list[str] = field(default_factory=list)
    max_rank: int | None = None
    dynamic: bool = False


@dataclass(frozen=True)
class DeployPath:
    """A way from a framework to a runtime.

    Parameters
    ----------
    name : str
        Row name, e.g. ``"onnxruntime (torch.onnx dynamo)"``; ``--paths`` selects by it.
    runtime : str
        The runtime that runs the artefact (counted once however many paths reach it).
    framework : str
        ``"torch"``, ``"keras"`` or ``"jax"``: the framework whose layers and native op it exports.
    distributions : tuple of str
        Distributions whose versions the report prints (exporter, converter, runtime).
    requires : tuple of str
        Modules that must import for the path to run ("not installed" otherwise).
    convert : callable
        ``convert(model, workdir) -> Artefact``; raises :class:`ConversionError` (or the
        converter's own exception) when it cannot.
    run : callable
        ``run(artefact, x) -> numpy.ndarray``: the deployed graph on the NumPy input ``x``.
    dtypes : tuple of str
        NumPy dtype names the path runs.
    fast : bool
        Whether the path runs in ``.ci/run`` (the others run in the slow workflow).
    runs_here : bool
        False where the runtime cannot run models on this platform (Core ML on Linux): the
        row checks conversion and op types only, and the report says so.
    note : str
        What the report says about the path (a known upstream issue, NaN canonicalisation).
    group : str
        Paths of one group run in one process, one after another (paths that read the same
        exported files share a group, so that each file is written once); groups run side by
        side in worker processes. Empty: the path is a group of its own.
    """

    name: str
    runtime: str
    framework: str
    distributions: tuple[str, ...]
    requires: tuple[str, ...]
    convert: Callable[[Model, Path], Artefact]
    run: Callable[[Artefact, Any], Any]
    dtypes: tuple[str, ...] = ("float32",)
    fast: bool = False
    runs_here: bool = True
    note: str = ""
    group: str = ""
