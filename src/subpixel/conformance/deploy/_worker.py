"""Run a group of deployment paths in a worker process.

``python -m subpixel.conformance.deploy._worker`` reads a JSON request on stdin (path names,
work folder, dtypes, model names) and writes the outcomes as JSON on stdout; whatever the
converters and runtimes print (some write to the process's standard output from native code)
goes to stderr instead. For Keras paths
the parent sets ``KERAS_BACKEND=tensorflow`` (see
:func:`subpixel.conformance.deploy._engine.run_paths`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from subpixel.conformance.deploy._engine import as_dicts, run_paths
from subpixel.conformance.deploy._models import model_named
from subpixel.conformance.deploy._registry import paths


def main() -> int:
    """Answer one request; return the exit status."""
    result = os.fdopen(os.dup(1), "w")
    sys.stdout.flush()
    os.dup2(2, 1)  # native code's prints land on stderr, not in the JSON answer
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.read())
    known = paths()
    chosen = [known[name] for name in request["paths"]]
    models = [model_named(name) for name in request["models"]]
    outcomes = run_paths(chosen, Path(request["workdir"]), dtypes=request["dtypes"], models=models)
    with result:
        result.write(json.dumps(as_dicts(outcomes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
