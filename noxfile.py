"""The CI jobs by name: ``nox -s conformance``, ``nox -s install-torch``, ``nox -s lint``, ...

The GitHub Actions workflow (``.github/workflows/ci.yml``) runs exactly the sessions that ``.ci/run``
runs here, one job each:

- ``conformance`` and ``tests``: the run step of the README's two commands (read from README.md),
  every framework installed;
- ``lint``, ``typecheck``, ``docs``;
- ``install-torch``, ``install-numpy``, ``install-jax``, ``install-dask``: the wheel built from this
  checkout, installed with one framework in a fresh virtual environment, as a user would (torch
  without NumPy); each runs its README example and its conformance rows, and the NumPy one the
  NumPy-only tests from the sdist. torch has sessions on Python 3.11 (its CPU wheel here), JAX on
  3.12 and 3.13 (JAX 0.10 needs 3.11), the others on 3.10, 3.12 and 3.13; CI runs
  ``install-torch-3.11``, ``install-numpy-3.10``, ``install-dask-3.12`` and ``install-jax-3.13``
  (:data:`CI_INSTALLS`);
- ``install-speed``: ``subpixel[numpy,torch,speed]``, with the ``subpixel-kernels`` wheel built from
  ``kernels/`` (on 3.11, where torch's CPU wheel is): the full NumPy and torch rows, whose route
  coverage requires the compiled kernels, and the kernels' tests.

``.ci/run`` runs ``conformance``, ``tests``, ``lint``, ``typecheck`` and ``docs`` with
``--no-venv --no-install`` inside the environment the README's first command sets up, and the
install sessions as they are. ``tests-<row>`` (the suite on one backend row), ``lowest-jax`` and
``lowest-tensorflow`` (the declared floors; ``nox -t lowest`` runs both), ``fuzz``, ``mutation``,
``mutation-without-kernels``, ``kernels-sanitized`` and ``peers`` are run by hand and reported, not
in CI; ``kernels-wheels`` runs in the kernel wheels workflow (``kernels-wheels.yml``).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nox

nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).resolve().parent
CONSTRAINTS = ("-c", "constraints.txt")
if os.environ.get("PIP_FIND_LINKS") and not os.environ.get("UV_FIND_LINKS"):
    os.environ["UV_FIND_LINKS"] = os.environ["PIP_FIND_LINKS"]  # uv reads pip's local wheels too

#: Test rows: the extras each installs and the backends its tests must run on.
ROWS: dict[str, tuple[str, str]] = {
    "numpy": ("numpy", "numpy"),
    "array_api_strict": ("strict", "array_api_strict"),
    "torch": ("torch", "torch"),
    "jax": ("jax", "jax"),
    "dask": ("dask", "dask"),
    "flax": ("flax", "jax,flax"),
    "keras": ("keras,jax", "jax,keras"),
}

#: Extra environment of a row (Keras needs its backend chosen before import).
ROW_ENV: dict[str, dict[str, str]] = {"keras": {"KERAS_BACKEND": "jax"}}


def _pip_with_groups(session: nox.Session) -> None:
    """``--group`` (PEP 735 dependency groups) needs pip 25.1 or later (uv has it)."""
    if session.venv_backend == "venv":
        session.install("-q", "-U", "pip>=25.1")


def _install(session: nox.Session, extras: str, *groups: str) -> None:
    _pip_with_groups(session)
    spec = f".[{extras}]" if extras else "."
    args = [arg for group in groups for arg in ("--group", group)]
    session.install(*CONSTRAINTS, "-e", spec, *args)


def _tests(session: nox.Session, row: str) -> None:
    extras, backends = ROWS[row]
    _install(session, extras, "test")
    env = {"SUBPIXEL_BACKENDS": backends, "HYPOTHESIS_PROFILE": "ci", **ROW_ENV.get(row, {})}
    session.run("python", "-m", "pytest", "-n", "2", *session.posargs, env=env)


for _row in ROWS:

    @nox.session(name=f"tests-{_row}")
    def _session(session: nox.Session, row: str = _row) -> None:
        _tests(session, row)


def _readme() -> ModuleType:
    """``.ci/readme.py``: the README's commands and examples."""
    spec = importlib.util.spec_from_file_location("readme", ROOT / ".ci" / "readme.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readme_run(session: nox.Session, number: int) -> None:
    """Run the last step of the README's ``number``-th command, as written, with this session's Python."""
    env, args = _readme().run(number)
    session.run(*args, *session.posargs, env=env)


@nox.session
def conformance(session: nox.Session) -> None:
    """Run the README's first command: the full CPU matrix on every backend and layer row (the main job)."""
    _install(session, "all", "test")
    _readme_run(session, 1)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the README's second command: the whole test suite, every framework installed."""
    _install(session, "all", "test")
    _readme_run(session, 2)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and check formatting with Ruff."""
    _pip_with_groups(session)
    session.install(*CONSTRAINTS, "--group", "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check with mypy --strict and check the import layers, every framework installed."""
    _install(session, "all", "lint", "test")
    session.run("mypy")
    session.run("lint-imports")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site, warnings as errors."""
    _install(session, "all", "docs")
    session.run("mkdocs", "build", "--strict", "--quiet", "-d", "out/site", env={"KERAS_BACKEND": "jax"})


#: The lowest-versions runs (by hand and weekly, not in CI), one per stack the floors allow together:
#: JAX 0.10 needs NumPy 2 and Python 3.11, TensorFlow 2.16 needs NumPy 1 (and Python 3.12 or older).
#: Each: its Python, the extras installed, the backends its tests run, and Keras's backend. The
#: TensorFlow stack runs on the oldest Python with NumPy at its floor (1.26) for NumPy, Dask and
#: array-api-strict; the JAX stack on NumPy 2.0.0, the lowest JAX 0.10 accepts.
LOWEST: dict[str, tuple[str, str, str, str]] = {
    "jax": ("3.11", "numpy,strict,dask,jax,flax,keras", "numpy,array_api_strict,jax,dask,flax,keras", "jax"),
    "tensorflow": (
        "3.10",
        "numpy,strict,dask,tensorflow,keras",
        "numpy,array_api_strict,dask,keras,tensorflow",
        "tensorflow",
    ),
}


def _lowest(session: nox.Session, stack: str) -> None:
    """Install ``stack`` at the lowest declared versions and run the tests on it.

    The floors are pinned in constraints-lowest.txt; uv's lowest-direct resolution puts the test
    tools at their floors too.
    """
    _, extras, backends, keras_backend = LOWEST[stack]
    _pip_with_groups(session)
    session.install("uv>=0.5")
    session.run(
        "uv", "pip", "install", "-q", "--resolution", "lowest-direct", "-c", "constraints-lowest.txt",
        "-e", f".[{extras}]", "--group", "test",
    )  # fmt: skip
    session.run("uv", "pip", "list", "-q")  # the versions this run tested, in its log
    env = {"SUBPIXEL_BACKENDS": backends, "KERAS_BACKEND": keras_backend, "HYPOTHESIS_PROFILE": "ci"}
    session.run("python", "-m", "pytest", "-n", "2", *session.posargs, env=env)


for _stack, (_python, *_) in LOWEST.items():

    @nox.session(name=f"lowest-{_stack}", python=_python, tags=["lowest"])
    def _lowest_session(session: nox.Session, stack: str = _stack) -> None:
        """Run the tests on the lowest declared versions (:data:`LOWEST`, constraints-lowest.txt)."""
        _lowest(session, stack)


# -- One framework at a time, from the built wheel, in fresh virtual environments ------------------

#: The install sessions CI runs (``.ci/run`` and the workflow): every supported Python this machine
#: has (3.10 to 3.13) appears once.
CI_INSTALLS = (
    "install-torch-3.11",
    "install-numpy-3.10",
    "install-dask-3.12",
    "install-jax-3.13",
    "install-speed-3.11",
)

#: Pythons of the NumPy and Dask install sessions (torch: 3.11, where its CPU wheel is).
INSTALL_PYTHONS = ["3.10", "3.12", "3.13"]

#: Pythons of the JAX install sessions: JAX 0.10, the floor, needs Python 3.11 (3.11 is the main venv).
JAX_PYTHONS = ["3.12", "3.13"]

_built: dict[str, Path] = {}


def _dist(session: nox.Session) -> dict[str, Path]:
    """Build the wheel and the sdist of this checkout once per nox run; return both."""
    if not _built:
        out = ROOT / "out" / "nox-dist"
        shutil.rmtree(out, ignore_errors=True)
        session.run(sys.executable, "-m", "uv", "build", "-q", "-o", str(out), str(ROOT), external=True)
        _built["wheel"] = next(out.glob("*.whl"))
        _built["sdist"] = next(out.glob("*.tar.gz"))
    return _built


def _kernels_wheel(session: nox.Session) -> Path:
    """Build the subpixel-kernels wheel of this checkout once per nox run; return its folder."""
    if "kernels" not in _built:
        out = _dist(session)["wheel"].parent / "kernels"
        shutil.rmtree(out, ignore_errors=True)
        session.run(
            sys.executable, "-m", "uv", "build", "-q", "--wheel", "-o", str(out), str(ROOT / "kernels"),
            external=True,
        )  # fmt: skip
        _built["kernels"] = out
    return _built["kernels"]


def _fresh(session: nox.Session, extra: str, *groups: str, find_links: Path | None = None) -> None:
    """Install the built wheel with one extra (and dependency groups) into the session's new venv.

    ``find_links``: a folder of wheels the extra may take its requirements from (subpixel-kernels).
    """
    wheel = _dist(session)["wheel"]
    args = [arg for group in groups for arg in ("--group", group)]
    links = ["--find-links", str(find_links)] if find_links else []
    session.install(*CONSTRAINTS, *links, f"{wheel}[{extra}]", *args)
    _imported_from(session, "subpixel", Path(session.virtualenv.location).resolve(), "the installed wheel")


def _imported_from(
    session: nox.Session, module: str, folder: Path, source: str, env: dict[str, str] | None = None
) -> None:
    """Fail the session unless ``module`` imports from a file under ``folder`` (``source`` says what)."""
    found = session.run("python", "-c", f"import {module}; print({module}.__file__)", silent=True, env=env)
    assert isinstance(found, str)
    if not Path(found.strip()).is_relative_to(folder):
        session.error(f"{module} imported from {found.strip()}, not from {source}")


def _example(session: nox.Session, framework: str) -> None:
    """Run the README's example for ``framework`` in the session's environment."""
    path = Path(session.create_tmp()) / f"{framework}_example.py"
    path.write_text(_readme().example(framework), encoding="utf-8")
    session.run("python", str(path))
    session.log(f"README's {framework} example ran")


def _rows(session: nox.Session, backends: str) -> None:
    """Run the quick conformance matrix on ``backends`` (CPU)."""
    out = Path(session.create_tmp()) / "conformance"
    session.run(
        "python", "-m", "subpixel", "conformance", "--backends", backends, "--devices", "cpu", "--quick",
        "--out", str(out),
    )  # fmt: skip


@nox.session(name="install-torch", python=["3.11"], reuse_venv=False)
def install_torch(session: nox.Session) -> None:
    """``subpixel[torch]`` alone, without NumPy: the README example; the conformance rows or exit 2."""
    _fresh(session, "torch")
    python = Path(session.bin) / "python"
    if subprocess.run([python, "-c", "import numpy"], capture_output=True, check=False).returncode == 0:
        session.error("subpixel[torch] installed NumPy")
    _example(session, "torch")
    log = Path(session.create_tmp()) / "conformance.log"
    with log.open("w") as stream:
        status = subprocess.run(
            [python, "-m", "subpixel", "conformance", "--backends",
             "torch,subpixel.torch", "--devices", "cpu", "--quick", "--out", str(log.with_suffix(""))],
            stdout=stream, stderr=subprocess.STDOUT, check=False,
        ).returncode  # fmt: skip
    text = log.read_text(encoding="utf-8")
    if status == 0:
        session.log([line for line in text.splitlines() if line.startswith("conformance: ")][-1])
    elif status == 2 and "Traceback" not in text and len(text.splitlines()) == 1:
        session.log(f"conformance without NumPy (status 2): {text.strip()}")
    else:
        session.error(f"conformance without NumPy must run, or exit 2 with one line:\n{text}")


@nox.session(name="install-numpy", python=INSTALL_PYTHONS, reuse_venv=False)
def install_numpy(session: nox.Session) -> None:
    """``subpixel[numpy]`` alone: the README example, the NumPy rows, the NumPy-only tests of the sdist."""
    _fresh(session, "numpy", "test")
    _example(session, "numpy")
    _rows(session, "numpy")
    _sdist_tests(session, "numpy", "-m", "not slow", *session.posargs)


@nox.session(name="install-speed", python=["3.11"], reuse_venv=False)
def install_speed(session: nox.Session) -> None:
    """``subpixel[numpy,torch,speed]``: the NumPy and torch rows, which must reach the compiled kernels.

    The speed extra's subpixel-kernels comes from the wheel built from ``kernels/`` here. Python
    3.11 only: torch's CPU wheel here is for 3.11. The rows run unfiltered, so their route coverage
    is enforced; then the kernels' tests and the fast paths' tests on the kernels, from the sdist.
    """
    _fresh(session, "numpy,torch,speed", "test", find_links=_kernels_wheel(session))
    venv = Path(session.virtualenv.location).resolve()
    _imported_from(session, "subpixel_kernels", venv, "the built wheel")
    out = Path(session.create_tmp()) / "conformance"
    session.run(
        "python", "-m", "subpixel", "conformance", "--backends", "numpy,torch", "--devices", "cpu",
        "--out", str(out),
    )  # fmt: skip
    tests = ("tests/test_compiled.py", "tests/test_fast_paths.py")
    _sdist_tests(session, "numpy,torch,subpixel_kernels", *tests, *session.posargs)


def _sdist_tests(session: nox.Session, backends: str, *args: str) -> None:
    """Run pytest (two workers) in the unpacked sdist with ``SUBPIXEL_BACKENDS=backends``."""
    tree = Path(session.create_tmp()) / "sdist"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir()
    session.run("tar", "xzf", str(_dist(session)["sdist"]), "-C", str(tree), external=True)
    with session.chdir(next(tree.iterdir())):
        session.run(
            "python", "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "-q", *args,
            env={"SUBPIXEL_BACKENDS": backends},
        )  # fmt: skip


@nox.session(name="install-jax", python=JAX_PYTHONS, reuse_venv=False)
def install_jax(session: nox.Session) -> None:
    """``subpixel[jax]`` alone: the README example and the JAX rows (eager and ``jit``)."""
    _fresh(session, "jax")
    _example(session, "jax")
    _rows(session, "jax,jax.jit")


@nox.session(name="install-dask", python=INSTALL_PYTHONS, reuse_venv=False)
def install_dask(session: nox.Session) -> None:
    """``subpixel[dask]`` alone: the README example and the Dask rows."""
    _fresh(session, "dask")
    _example(session, "dask")
    _rows(session, "dask")


# -- The deployment matrix: the fast paths in CI, every path in the slow workflow -------------------

#: What the deployment sessions install: the frameworks whose layers and native ops are exported
#: (JAX for jax2tf -> LiteRT and jax.export, with Keras on JAX as its native op).
DEPLOY_EXTRAS = "torch,keras,tensorflow,jax"


def _deploy(session: nox.Session, paths: str) -> None:
    """Run ``python -m subpixel deploy --paths paths`` (its report in the session's temporary folder).

    Keras runs its paths on TensorFlow and the JAX paths' native op on JAX: the matrix starts a
    worker with the ``KERAS_BACKEND`` a path needs when this process's Keras runs on another
    library, so the session sets nothing.
    """
    out = Path(session.create_tmp()) / "deploy"
    shutil.rmtree(out, ignore_errors=True)
    session.run("python", "-m", "subpixel", "deploy", "--paths", paths, "--out", str(out), *session.posargs)


#: The runtimes the deploy session's tests request (tests/backends.py), and Keras's library there.
DEPLOY_TEST_ENV = {
    "SUBPIXEL_BACKENDS": "numpy,torch,jax,keras,tensorflow,openvino,ai_edge_litert",
    "KERAS_BACKEND": "tensorflow",
}


@nox.session(python=["3.11"])
def deploy(session: nox.Session) -> None:
    """Run the deployment matrix's fast paths (onnxruntime, onnx.reference, OpenVINO, LiteRT, JAX) as CI does.

    Python 3.11, where torch's CPU wheel is. First the tests and the Deploy page's examples that need
    the runtimes the main environment lacks, then the matrix.
    """
    _install(session, DEPLOY_EXTRAS, "deploy", "test")
    tests = ("tests/test_deploy.py", "tests/test_docs.py")
    session.run(
        "python", "-m", "pytest", "-p", "no:cacheprovider", "-q", *tests,
        "-k", "openvino or litert or jax or deploy.md",
        env=DEPLOY_TEST_ENV,
    )  # fmt: skip
    _deploy(session, "fast")


@nox.session(name="deploy-slow", python=["3.11"])
def deploy_slow(session: nox.Session) -> None:
    """Run every path of the deployment matrix (the slow workflow).

    Its report is committed under ``conformance/reports/deploy/``: pass
    ``-- --out conformance/reports/deploy``.
    """
    _install(session, DEPLOY_EXTRAS, "deploy-slow", "test")
    _deploy(session, "all")


@nox.session(name="deploy-tvm", python=["3.11"])
def deploy_tvm(session: nox.Session) -> None:
    """Run the TVM path of the deployment matrix (the slow workflow).

    TVM has an environment of its own: apache-tvm 0.27 and litert-torch's converter need
    incompatible ``typing-extensions``.
    """
    _install(session, "torch", "deploy-tvm", "test")
    _deploy(session, "TVM Relax VM (torch.onnx dynamo)")


# -- The proof's long runs: not in CI; run once and report (see docs/conformance.md) ----------------


#: The fuzz rows (conformance/fuzz.py's ROWS): every CPU backend, eager and compiled.
FUZZ_ROWS = "numpy,array_api_strict,torch,jax,jax.jit,tensorflow,tensorflow.function,dask"


@nox.session
def fuzz(session: nox.Session) -> None:
    """Run a million random calls per CPU backend row against the index formula (hours; not CI).

    ``nox -s fuzz`` runs every row into conformance/reports/fuzz.md; arguments replace the
    defaults: ``nox -s fuzz -- --backends numpy --calls 10000 --seed 1 --out /tmp/fuzz.md``.
    """
    _install(session, "all", "test")
    args = session.posargs or ["--backends", FUZZ_ROWS, "--out", "conformance/reports/fuzz.md"]
    session.run("python", "conformance/fuzz.py", *args, env={"KERAS_BACKEND": "jax"})


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutation score of the matrix with the compiled kernels (from kernels/): mutation.md (about an hour)."""
    _install(session, "all", "test")
    session.install("./kernels")
    session.run("python", "conformance/mutate.py", *session.posargs, env={"KERAS_BACKEND": "jax"})


@nox.session(name="mutation-without-kernels")
def mutation_without_kernels(session: nox.Session) -> None:
    """Mutation score without the compiled kernels (the lanes kernels run): mutation-without-kernels.md."""
    _install(session, "all", "test")
    session.run("python", "conformance/mutate.py", *session.posargs, env={"KERAS_BACKEND": "jax"})


@nox.session(name="kernels-wheels")
def kernels_wheels(session: nox.Session) -> None:
    """Build and test subpixel-kernels' platform wheels with cibuildwheel into wheelhouse/.

    The kernel wheels workflow runs it on each platform (cibuildwheel needs Docker or Podman on
    Linux); settings in kernels/pyproject.toml. On Linux x86-64 it builds the sdist too.
    """
    session.install("cibuildwheel>=3.1,<4", "build>=1.2")
    session.run("cibuildwheel", "kernels", "--output-dir", "wheelhouse")
    if sys.platform == "linux" and platform.machine() == "x86_64":
        session.run("python", "-m", "build", "--sdist", "--outdir", "wheelhouse", "kernels")


@nox.session(name="kernels-sanitized", python=["3.11"])
def kernels_sanitized(session: nox.Session) -> None:
    """Check the compiled kernels built with gcc's address and undefined-behaviour sanitizers (Linux).

    The build as shipped runs the kernels' tests and the NumPy and torch rows (whose route
    coverage requires the compiled routes); the portable build (the loops alone, as compilers
    other than GCC and Clang on x86 build them) runs the kernels' tests. Any out-of-bounds access
    or undefined behaviour aborts.
    """
    _install(session, "numpy,torch", "test")
    paths = (
        "import sysconfig; print(sysconfig.get_paths()['include'], sysconfig.get_config_var('EXT_SUFFIX'))"
    )
    found = session.run("python", "-c", paths, silent=True)
    assert isinstance(found, str)
    include, suffix = found.split()
    libraries = [
        subprocess.run(
            ["gcc", f"-print-file-name={name}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        for name in ("libasan.so", "libubsan.so")
    ]
    source = ROOT / "kernels" / "src" / "subpixel_kernels"
    for build, defines in (("shipped", []), ("portable", ["-DSUBPIXEL_KERNELS_BASELINE"])):
        folder = Path(session.create_tmp()).resolve() / f"sanitized-{build}"
        shutil.rmtree(folder, ignore_errors=True)
        package = folder / "subpixel_kernels"
        package.mkdir(parents=True)
        for path in [*source.glob("*.py"), *source.glob("*.pyi")]:
            shutil.copy(path, package)
        session.run(
            "gcc", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer", "-fPIC", "-shared", f"-I{include}", *defines,
            "-o", str(package / f"_interleave{suffix}"), str(source / "_interleave.c"), external=True,
        )  # fmt: skip
        env = {
            "LD_PRELOAD": " ".join(libraries),
            "ASAN_OPTIONS": "detect_leaks=0",
            "PYTHONPATH": str(folder),
            "SUBPIXEL_BACKENDS": "numpy,torch,subpixel_kernels",
        }
        module = "subpixel_kernels._interleave"
        _imported_from(session, module, folder, f"the sanitized {build} build", env=env)
        tests = ("-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/test_compiled.py")
        session.run("python", *tests, env=env)
        if build == "shipped":
            session.run(
                "python", "-m", "subpixel", "conformance", "--backends", "numpy,torch", "--devices", "cpu",
                "--out", str(folder / "conformance"), env=env,
            )  # fmt: skip


@nox.session
def peers(session: nox.Session) -> None:
    """Run the peer matrix (torch, einops, keras.ops, ONNX, MONAI) into conformance/reports/peers.md."""
    _install(session, "all", "test")
    session.install(*CONSTRAINTS, "einops", "onnx", "onnxruntime", "tensorflow-cpu")
    session.run("python", "conformance/peers.py", *session.posargs)
