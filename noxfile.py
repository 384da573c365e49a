"""Local runs of the CI rows by name: ``nox -s tests-torch``, ``nox -s conformance``, ``nox -s lint``.

Each ``tests-<row>`` session installs only that row's libraries plus the test tools, so a
hidden dependency on another framework fails there. The GitHub Actions workflow
(``.github/workflows/ci.yml``) runs the same sessions, one job each.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

CONSTRAINTS = ("-c", "constraints.txt")

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
    """``--group`` (PEP 735 dependency groups) needs pip 25.1 or later."""
    session.run("python", "-m", "pip", "install", "-q", "-U", "pip>=25.1")


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


@nox.session
def conformance(session: nox.Session) -> None:
    """Run the full CPU matrix on every backend and layer row (the README's main job)."""
    _install(session, "all", "test")
    out = session.posargs[0] if session.posargs else "conformance-report"
    session.run(
        "python", "-m", "subpixel", "conformance", "--devices", "cpu", "--out", out,
        env={"KERAS_BACKEND": "jax"},
    )  # fmt: skip


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
    session.run("mkdocs", "build", "--strict", "-d", "site", env={"KERAS_BACKEND": "jax"})


@nox.session
def lowest(session: nox.Session) -> None:
    """Run the tests on the lowest declared versions (constraints-lowest.txt; test tools at their floors)."""
    _pip_with_groups(session)
    session.install("uv>=0.5")
    session.run(
        "uv", "pip", "install", "-q", "--resolution", "lowest-direct", "-c", "constraints-lowest.txt",
        "-e", ".[numpy,jax,dask,strict,flax,keras]", "--group", "test",
    )  # fmt: skip
    env = {"SUBPIXEL_BACKENDS": "numpy,array_api_strict,jax,dask,flax,keras", "KERAS_BACKEND": "jax"}
    session.run("python", "-m", "pytest", "-n", "2", *session.posargs, env=env)


# -- The proof's long runs: not in CI; run once and report (see docs/conformance.md) ----------------


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutation score of the conformance matrix over _plan.py, _shuffle.py and _fast/ (about an hour)."""
    _install(session, "all", "test")
    session.run("python", "conformance/mutate.py", *session.posargs, env={"KERAS_BACKEND": "jax"})


@nox.session
def peers(session: nox.Session) -> None:
    """Run the peer matrix (torch, einops, keras.ops, ONNX, MONAI) into conformance/reports/peers.md."""
    _install(session, "all", "test")
    session.install(*CONSTRAINTS, "einops", "onnx", "onnxruntime", "tensorflow-cpu")
    session.run("python", "conformance/peers.py", *session.posargs)
