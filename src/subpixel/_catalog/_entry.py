"""What subpixel and its tools know about one array backend: the :class:`Entry` base class.

An entry is plain data (class attributes) plus a few conversions. Everything that imports the
backend's library does so inside a method, so importing an entry imports no framework.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, ClassVar

__all__ = ["Entry"]


class Entry:
    """One array backend, as the library, the demo, the conformance matrix and the tests see it.

    Subclasses set the class attributes and override the conversions that differ from the
    defaults, which suit a library whose ``asarray`` takes a NumPy array and whose arrays NumPy
    can read back (``numpy.asarray``).

    Attributes
    ----------
    name : str
        The backend's id: its row in the conformance matrix, its name for ``--backends``, the
        demo and ``SUBPIXEL_BACKENDS``.
    title : str
        The library in words, for messages ("PyTorch").
    modules : tuple of str
        The top-level modules that define its array types: an array belongs to the entry whose
        ``modules`` hold the first component of ``type(x).__module__``. Default ``(name,)``.
    namespace : str
        The module whose functions make its arrays (``jax.numpy``, ``dask.array``). Default ``name``.
    requires : tuple of str
        The modules that must be importable for the backend to run (the first is its own).
        Default ``(name, "numpy")``.
    fast_path : str or None
        The module of :mod:`subpixel._fast` that shuffles its arrays, or None for the Array-API
        route. The module has ``prepare(spec, plan) -> runner`` and may have
        ``check_array(x, caller)`` (raise ``TypeError`` for objects of the library that are not
        arrays; without one, the array must have an Array-API namespace) and
        ``SHUFFLES_CHUNKS = True`` (its arrays hold other arrays: ``prepare`` also takes
        ``shuffle_chunk``).
    run_time_sizes : bool
        Whether its arrays may have sizes known only at run time (``None`` in their shape),
        which its fast path fills in when it runs; on the Array-API route, one axis of unknown
        size (reshape's ``-1``).
    routes : str
        The route prefix whose every route its conformance row must take (see
        :mod:`subpixel._routes`): ``array_api`` for the Array-API route.
    adapter : str or None
        The module of :mod:`subpixel.conformance` that holds its conformance adapter (strides,
        memory formats, autodiff, extra rows); None for the plain adapter built from this entry.
    extra : str or None
        The pip extra that installs it (``pip install 'subpixel[<extra>]'``).
    distributions : tuple of str
        The distributions whose versions the conformance report lists when it ran. Default
        ``(name,)``.
    devices : tuple of str
        The devices it can run on among ``cpu`` and ``gpu``.
    compiles_per_shape : bool
        Whether each call builds a program for the input's shape and dtype (an XLA executable, an
        ONNX graph, a Cubed plan): its conformance row runs each case on one dtype of each element
        size rather than on every dtype (see ``Implementation.compiles_per_shape``).
    keras_backend : bool
        Whether Keras 3 can run on it (the Keras layers get a row on it).
    keras_default : bool
        Whether Keras 3 runs on it when ``KERAS_BACKEND`` is unset.
    gradient_tool : str
        The autodiff call that differentiates a Keras layer on it, in words (Keras backends only).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    modules: ClassVar[tuple[str, ...]] = ()
    namespace: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    fast_path: ClassVar[str | None] = None
    run_time_sizes: ClassVar[bool] = False
    routes: ClassVar[str] = "array_api"
    adapter: ClassVar[str | None] = None
    extra: ClassVar[str | None] = None
    distributions: ClassVar[tuple[str, ...]] = ()
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    compiles_per_shape: ClassVar[bool] = False
    keras_backend: ClassVar[bool] = False
    keras_default: ClassVar[bool] = False
    gradient_tool: ClassVar[str] = ""
    #: The attributes :meth:`__init_subclass__` filled from the name (a subclass fills them anew).
    _filled: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Fill what follows from :attr:`name` where the entry does not say otherwise.

        A library named ``name`` defines its arrays in module ``name``, makes them with it, needs
        it and NumPy (the host converter), and ships as the distribution ``name``.
        """
        super().__init_subclass__(**kwargs)
        name = cls.name
        if not name:
            return
        given = {
            attr
            for klass in cls.__mro__
            if klass is not Entry
            for attr in vars(klass)
            if attr not in vars(klass).get("_filled", ())
        }
        defaults = {
            "modules": (name,),
            "namespace": name,
            "requires": (name, "numpy"),
            "distributions": (name,),
        }
        filled = [attr for attr in defaults if attr not in given]
        for attr in filled:
            setattr(cls, attr, defaults[attr])
        cls._filled = tuple(filled)

    def __repr__(self) -> str:
        return f"<subpixel backend {self.name!r}>"

    # -- presence ------------------------------------------------------------------------------
    def installed(self) -> bool:
        """Whether every module it requires can be found (nothing is imported)."""
        return all(_findable(module) for module in self.requires or (self.namespace,))

    def load(self) -> Any:
        """Import the library and return the module named by :attr:`namespace`."""
        return importlib.import_module(self.namespace)

    def device_problem(self, device: str) -> str | None:
        """Return why ``device`` cannot run here, or None."""
        return None if device in self.devices else f"{self.name} has no {device} device"

    def device_name(self, device: str) -> str:
        """Describe ``device`` for a report header."""
        return device

    # -- conversions ---------------------------------------------------------------------------
    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        """Return a new array of this backend on ``device`` holding every bit of NumPy array ``x``."""
        return self.load().asarray(x.copy())

    def to_numpy(self, y: Any) -> Any:
        """Return a NumPy array holding every bit of ``y`` (on the host).

        A dtype NumPy lacks (torch's bfloat16) comes back as the integer view of the same size.
        """
        import numpy as np

        return np.asarray(y)

    def from_bytes(self, data: bytes, shape: tuple[int, ...], dtype: str) -> Any:
        """Return a C-ordered array of ``shape`` and ``dtype`` (a NumPy name) made of ``data``."""
        import numpy as np

        return self.from_numpy(np.frombuffer(data, dtype=dtype).reshape(shape))

    def to_bytes(self, y: Any) -> bytes:
        """Return the bytes of ``y`` in C order."""
        import numpy as np

        return bytes(np.ascontiguousarray(self.to_numpy(y)).tobytes())

    def dtype_name(self, y: Any) -> str:
        """Return the name of ``y``'s dtype (``float32``)."""
        return str(y.dtype).rpartition(".")[2]

    def gradient(self, f: Any, x: Any, g: Any) -> Any:
        """Return the gradient of ``f`` at NumPy ``x`` for the cotangent ``g``, as NumPy (Keras backends)."""
        msg = f"{self.name} has no gradient for Keras layers"
        raise NotImplementedError(msg)


def _findable(module: str) -> bool:
    """Whether ``module`` can be found; only its parent packages are imported (never a framework's)."""
    top = module.partition(".")[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False
