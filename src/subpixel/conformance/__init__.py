"""The conformance matrix: every backend against ``torch.nn.PixelShuffle``, bit for bit.

Run it with ``python -m subpixel conformance`` (see ``--help``), or from Python:

>>> from subpixel.conformance import run_matrix
>>> matrix = run_matrix(["numpy"], ["cpu"], quick=True, dtypes=["float32"], families=["factors"])
>>> matrix.ok
True

Rows are *implementations* (the library on each array backend, the layer wrappers, and
anything registered with :func:`register_implementation`) on a device and dtype; columns are
case families. Each cell compares the raw output bytes, shape, dtype and device with the
references (live torch, or golden vectors recorded from it; the documented index formula;
ONNX's reference evaluator), and checks that the input is left unchanged and not aliased.
"""

from __future__ import annotations

from subpixel.conformance._cases import FAMILIES, Case, all_cases, cases_by_id, documented_shape
from subpixel.conformance._engine import (
    CaseResult,
    Cell,
    Matrix,
    Row,
    reproduce,
    reproducer,
    run_case,
    run_matrix,
)
from subpixel.conformance._golden import GoldenVectors, load_golden
from subpixel.conformance._inputs import DTYPE_NAMES, DTYPES, make_input, seed_for
from subpixel.conformance._references import ReferenceBook, compute_golden
from subpixel.conformance._registry import (
    Implementation,
    ImplementationCall,
    get_implementation,
    implementations,
    register_implementation,
    unregister_implementation,
)
from subpixel.conformance._report import to_json, to_markdown, write_reports
from subpixel.conformance._user import load_function, register_user_function

__all__ = [
    "DTYPES",
    "DTYPE_NAMES",
    "FAMILIES",
    "Case",
    "CaseResult",
    "Cell",
    "GoldenVectors",
    "Implementation",
    "ImplementationCall",
    "Matrix",
    "ReferenceBook",
    "Row",
    "all_cases",
    "cases_by_id",
    "compute_golden",
    "documented_shape",
    "get_implementation",
    "implementations",
    "load_function",
    "load_golden",
    "make_input",
    "register_implementation",
    "register_user_function",
    "reproduce",
    "reproducer",
    "run_case",
    "run_matrix",
    "seed_for",
    "to_json",
    "to_markdown",
    "unregister_implementation",
    "write_reports",
]
