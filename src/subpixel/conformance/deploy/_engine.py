"""Run deployment paths on the models and compare the deployed bytes with the eager result.

For each path, model and dtype: export (or convert) the model at its first shape, then run the
artefact at that shape and, when it kept dynamic sizes, at the other two; each output is
compared byte for byte (``uint8`` views) with the framework's eager result on the same input,
whose floats carry NaN payloads, ``-0.0``, infinities and subnormals. Where subpixel's output
differs only in NaN payloads that the runtime canonicalises for the framework's own op too,
the bits are compared with that op's output through the same runtime, and the outcome says so.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._models import MODELS, NATIVE, SUBPIXEL, DeployModel, build
from subpixel.conformance.deploy._path import Artefact, DeployPath, Model
from subpixel.conformance.deploy._registry import missing

__all__ = ["KERAS_BACKENDS", "Outcome", "compare", "eager", "run_paths"]


@dataclass
class Outcome:
    """One path, model and dtype: what converting and running it gave.

    ``bits`` is ``"equal"``, ``"N of M differ"`` (elements) or ``"not run: why"``; ``failed``
    says whether the outcome fails the run (subpixel's models only: the native op's outcomes
    are reported, never failed).
    """

    path: str
    runtime: str
    model: str
    maker: str
    plan: str
    dtype: str
    converts: bool | None = None
    reason: str = ""
    ops: list[str] = field(default_factory=list)
    max_rank: int | None = None
    dynamic: str = "not asked"
    sizes: int = 0
    elements: int = 0
    differ: int = 0
    bits: str = "not run"
    compared_with: str = "eager"
    seconds: float = 0.0
    native_ops: int | None = None
    failed: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        """Return the outcome of :func:`dataclasses.asdict`."""
        return cls(**data)


def eager(model: DeployModel, layer: Any, x: Any) -> Any:
    """Return the framework's eager result of ``layer`` on the NumPy array ``x`` (a NumPy array)."""
    import numpy as np

    if model.plan.framework == "torch":
        import torch

        with torch.no_grad():
            return layer(torch.from_numpy(x.copy())).numpy()
    if model.plan.framework == "jax":
        import jax.numpy as jnp

        return np.asarray(layer(jnp.asarray(x)))
    import keras

    return np.asarray(keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(x))))


def compare(result: Any, expected: Any) -> int:
    """How many elements of ``result`` differ from ``expected`` in their bytes (all, if shapes differ)."""
    import numpy as np

    result = np.asarray(result)
    if result.shape != expected.shape or result.dtype != expected.dtype:
        return int(expected.size)
    width = expected.dtype.itemsize
    a = np.ascontiguousarray(result).view(np.uint8).reshape(-1, width)
    b = np.ascontiguousarray(expected).view(np.uint8).reshape(-1, width)
    return int((a != b).any(axis=1).sum())


def _nan_only(result: Any, expected: Any) -> bool:
    """Whether ``result`` and ``expected`` differ only where both hold a NaN (payloads)."""
    import numpy as np

    if result.shape != expected.shape or expected.dtype.kind != "f":
        return False
    a = np.ascontiguousarray(result).view(np.uint8).reshape(*result.shape, -1)
    b = np.ascontiguousarray(expected).view(np.uint8).reshape(*expected.shape, -1)
    where = (a != b).any(axis=-1)
    return bool((np.isnan(result[where]) & np.isnan(expected[where])).all())


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return f"{type(error).__name__}: {text}"[:300]


@dataclass
class _Done:
    """What the engine keeps of a model it ran: the outputs of each shape (for the native comparison)."""

    outcome: Outcome
    outputs: list[Any]


def _run_one(
    path: DeployPath,
    model: DeployModel,
    dtype: str,
    workdir: Path,
    native: _Done | None,
    canonicalises: bool = False,
) -> _Done:
    """Convert and run one model in one dtype; ``native`` is its native op's run on the same path.

    ``canonicalises``: the runtime changed NaN payloads of the native op in this dtype (seen on
    another plan): a plan without a native op whose output differs only in NaN payloads is then
    reported equal, with a note.
    """
    import numpy as np

    from subpixel.conformance._inputs import make_input, seed_for

    plan = model.plan
    outcome = Outcome(path.name, path.runtime, model.name, model.maker, plan.name, dtype)
    started = time.perf_counter()
    shapes = plan.shapes()
    layer = build(model)
    example = make_input(shapes[0], dtype, seed_for(f"{plan.name} {shapes[0]} {dtype}"))
    multiple = plan.factor if plan.inverse else 1
    spec = Model(plan.framework, layer, example, plan.dynamic_axes, plan.channels_last, model.name, multiple)
    outputs: list[Any] = []
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            artefact: Artefact = path.convert(spec, workdir)
    except Exception as error:
        outcome.converts = False
        outcome.reason = _one_line(error)
        outcome.bits = "not run: does not convert"
        outcome.seconds = time.perf_counter() - started
        return _Done(outcome, outputs)
    outcome.converts = True
    outcome.ops = list(artefact.op_types)
    outcome.max_rank = artefact.max_rank
    asked = bool(plan.dynamic_axes)
    outcome.dynamic = ("yes" if artefact.dynamic else "no") if asked else "not asked"
    if not path.runs_here:
        outcome.bits = f"not run: {path.runtime} cannot run models on this platform"
        outcome.seconds = time.perf_counter() - started
        return _Done(outcome, outputs)
    chosen = shapes if artefact.dynamic else shapes[:1]
    by_native = 0
    nan_only = 0
    for shape in chosen:
        x = make_input(shape, dtype, seed_for(f"{plan.name} {shape} {dtype}"))
        expected = eager(model, layer, x)
        try:
            result = np.asarray(path.run(artefact, x.copy()))
        except Exception as error:
            outcome.bits = f"not run: fails at shape {shape}: {_one_line(error)}"
            outcome.failed = model.maker == SUBPIXEL
            outcome.seconds = time.perf_counter() - started
            return _Done(outcome, outputs)
        outputs.append(result)
        outcome.sizes += 1
        outcome.elements += int(expected.size)
        differ = compare(result, expected)
        if differ and native is not None and len(native.outputs) >= len(outputs):
            through = native.outputs[len(outputs) - 1]
            # The runtime canonicalises NaN for the framework's own op too: compare with that op there.
            if _nan_only(through, expected) and compare(result, through) == 0:
                differ = 0
                by_native += 1
        elif differ and model.maker == SUBPIXEL and canonicalises and _nan_only(result, expected):
            nan_only += differ
            differ = 0
        outcome.differ += differ
    if nan_only:
        outcome.compared_with = "eager, NaN payloads aside"
        outcome.notes.append(
            f"{nan_only} elements differ from eager only in NaN payloads, which {path.runtime} "
            f"canonicalises for the native op too in {dtype}"
        )
    if by_native:
        outcome.compared_with = f"the native op through {path.runtime}"
        outcome.notes.append(
            f"{path.runtime} changes NaN payloads for the native op too: {by_native} of {outcome.sizes} "
            f"sizes compared with the native op's result through {path.runtime}"
        )
    if outcome.differ:
        outcome.bits = f"{outcome.differ} of {outcome.elements} differ"
    else:
        outcome.bits = "equal"
    outcome.seconds = time.perf_counter() - started
    return _Done(outcome, outputs)


def _judge(outcome: Outcome, model: DeployModel, native: Outcome | None, native_rank: int = 0) -> None:
    """Set ``failed`` on a subpixel model's outcome, against its native op's on the same path.

    subpixel's layer must convert wherever the native op converts, keep the eager bytes on every
    size, keep dynamic sizes where the native op does, and have no more operators than the native
    op; a plan with no native op may have no tensor above rank 4 (rank 5 for volumes), unless
    the path itself lowers the native op above rank 4 (``native_rank``: a converter's own choice).
    """
    if outcome.maker != SUBPIXEL or outcome.converts is None:
        return
    if native is not None and native.converts:
        outcome.native_ops = len(native.ops)
    if not outcome.converts:
        if native is not None and not native.converts:
            outcome.notes.append("the native op does not convert either")
            return
        outcome.failed = True
        return
    if outcome.differ or outcome.bits.startswith("not run: fails"):
        outcome.failed = True
    if native is not None and native.dynamic == "yes" and outcome.dynamic == "no":
        outcome.failed = True
        outcome.notes.append("the native op keeps dynamic sizes, subpixel's layer does not")
    if outcome.native_ops is not None and len(outcome.ops) > outcome.native_ops:
        outcome.failed = True
        outcome.notes.append(f"{len(outcome.ops)} operators where the native op has {outcome.native_ops}")
    limit = 2 + model.plan.spatial
    if not model.plan.native and outcome.max_rank is not None and outcome.max_rank > limit:
        if native_rank > 4:
            outcome.notes.append(
                f"rank {outcome.max_rank}: the path lowers the native op to rank {native_rank} too"
            )
        else:
            outcome.failed = True
            outcome.notes.append(
                f"a rank-{outcome.max_rank} tensor (with no native op, the bar is rank {limit})"
            )


def _keras_backend() -> str:
    keras = sys.modules.get("keras")
    if keras is not None:
        return str(keras.backend.backend())
    return os.environ.get("KERAS_BACKEND", "tensorflow")


#: The library Keras must run on for a framework's paths: TensorFlow for Keras models (LiteRT's
#: converter takes TensorFlow functions), JAX for JAX models (their native op is Keras's, on JAX).
KERAS_BACKENDS = {"keras": "tensorflow", "jax": "jax"}


def _needs_worker(path: DeployPath) -> bool:
    """Whether ``path`` cannot run in this process: Keras here runs on another library than it needs."""
    wanted = KERAS_BACKENDS.get(path.framework)
    return wanted is not None and _keras_backend() != wanted


def run_paths(
    chosen: Sequence[DeployPath],
    workdir: Path,
    *,
    dtypes: Iterable[str] | None = None,
    models: Iterable[DeployModel] = MODELS,
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> list[Outcome]:
    """Run every path of ``chosen`` on the models of its framework, in each of its dtypes.

    A path whose modules are missing gives one outcome, ``not run: not installed``. Paths run
    by group (:attr:`DeployPath.group`): with ``jobs`` above 1, up to ``jobs`` groups run side by
    side, all but one in worker processes. Keras paths always run in a worker with
    ``KERAS_BACKEND=tensorflow`` when this process's Keras runs on another library.
    """
    wanted = None if dtypes is None else list(dtypes)
    models = list(models)
    workdir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[DeployPath]] = {}
    for path in chosen:
        groups.setdefault(path.group or path.name, []).append(path)
    # The costliest group (the most models and dtypes) stays here; the others may go to workers.
    ordered = sorted(groups.values(), key=lambda g: -sum(len(p.dtypes) for p in g))
    here = [g for g in ordered if not any(_needs_worker(p) for p in g)]
    local = here[:1] if jobs > 1 else here
    remote = [g for g in ordered if not any(g is mine for mine in local)]
    outcomes: list[Outcome] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(jobs - 1, 1)) as pool:
        futures = [pool.submit(_in_worker, group, workdir, wanted, models) for group in remote]
        for group in local:
            for path in group:
                outcomes += _run_path(path, workdir, wanted, models, progress)
        for future in futures:
            found = future.result()
            for outcome in found:
                if progress is not None and outcome.model:
                    progress(f"{outcome.path}: {outcome.model} {outcome.dtype}: {outcome.bits}")
            outcomes += found
    order = {p.name: i for i, p in enumerate(chosen)}
    return sorted(outcomes, key=lambda o: order[o.path])


def _run_path(
    path: DeployPath,
    workdir: Path,
    dtypes: list[str] | None,
    models: list[DeployModel],
    progress: Callable[[str], None] | None,
) -> list[Outcome]:
    lacking = missing(path)
    if lacking:
        outcome = Outcome(path.name, path.runtime, "", "", "", "", bits="not run: not installed")
        outcome.reason = f"needs {', '.join(lacking)}"
        return [outcome]
    ours = [m for m in models if m.plan.framework == path.framework]
    # The native op first: subpixel's outcome is judged against it.
    ours.sort(key=lambda m: m.maker != NATIVE)
    done: dict[tuple[str, str], _Done] = {}
    for model in ours:
        for dtype in path.dtypes:
            if dtypes is not None and dtype not in dtypes:
                continue
            counterpart = model.counterpart
            native = None if counterpart is None else done.get((counterpart.name, dtype))
            canonicalises = any(
                d.outcome.maker == NATIVE and d.outcome.differ and d.outcome.dtype == dtype
                for d in done.values()
            )
            finished = _run_one(path, model, dtype, workdir, native, canonicalises)
            # The rank a path gives a native op that it lowers (not one spelled in reshapes).
            native_rank = max(
                (
                    d.outcome.max_rank or 0
                    for d in done.values()
                    if d.outcome.maker == NATIVE and d.outcome.converts and not model.plan.native_is_spelled
                ),
                default=0,
            )
            _judge(finished.outcome, model, None if native is None else native.outcome, native_rank)
            nearest = model.nearest_native
            closest = None if nearest is None else done.get((nearest.name, dtype))
            if nearest and closest and not closest.outcome.converts and finished.outcome.converts is False:
                finished.outcome.failed = False
                finished.outcome.notes.append(f"{nearest.plan.native} does not convert either")
            elif nearest is None and finished.outcome.failed and finished.outcome.converts is False:
                same = _same_error(model, finished.outcome, [d.outcome for d in done.values()], ours)
                if same is not None:
                    finished.outcome.failed = False
                    finished.outcome.notes.append(
                        f"{same.plan.native} ({same.plan.name}) does not convert either, with the same error"
                    )
            done[model.name, dtype] = finished
            if progress is not None:
                progress(f"{path.name}: {model.name} {dtype}: {finished.outcome.bits}")
    return [d.outcome for d in done.values()]


def _same_error(
    model: DeployModel, outcome: Outcome, before: Sequence[Outcome], models: Sequence[DeployModel]
) -> DeployModel | None:
    """Return a native op that fails to convert with ``outcome``'s error, word for word, or None.

    For a subpixel plan with no native op and no native op of its other order (JAX's
    channels-first and 3-D plans): the framework's native op of the same direction (shuffle or
    unshuffle), on the same path in the same dtype, whose conversion failed with the same error.
    The converter then refuses something that both spellings hold (TFLite has no float16
    ``TRANSPOSE``), not subpixel's spelling. Any other error fails the row.
    """
    if model.maker != SUBPIXEL or model.plan.native:
        return None
    by_name = {m.name: m for m in models}
    for other in before:
        native = by_name.get(other.model)
        if (
            native is not None
            and native.maker == NATIVE
            and native.plan.inverse == model.plan.inverse
            and other.dtype == outcome.dtype
            and other.converts is False
            and other.reason == outcome.reason
        ):
            return native
    return None


def _in_worker(
    chosen: list[DeployPath], workdir: Path, dtypes: list[str] | None, models: list[DeployModel]
) -> list[Outcome]:
    """Run paths in ``python -m subpixel.conformance.deploy._worker`` (Keras on the library they need)."""
    request = {
        "paths": [p.name for p in chosen],
        "workdir": str(workdir),
        "dtypes": dtypes,
        "models": [m.name for m in models],
    }
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
    for path in chosen:
        if path.framework in KERAS_BACKENDS:
            env["KERAS_BACKEND"] = KERAS_BACKENDS[path.framework]
    done = subprocess.run(
        [sys.executable, "-m", "subpixel.conformance.deploy._worker"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    try:
        answer = json.loads(done.stdout) if done.returncode == 0 else None
    except json.JSONDecodeError:
        answer = None
    if answer is None:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        why = f"worker failed (status {done.returncode}): {tail}"
        return [
            Outcome(p.name, p.runtime, "", "", "", "", bits=f"not run: {why}", failed=True) for p in chosen
        ]
    return [Outcome.from_dict(d) for d in answer]


def as_dicts(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    """Return the outcomes as JSON-ready dictionaries."""
    return [asdict(o) for o in outcomes]
