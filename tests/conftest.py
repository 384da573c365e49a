from __future__ import annotations

import os
from typing import Any

import hypothesis
import pytest

from tests.backends import Backend, requested_backends

# The backend fixtures hold no state, so sharing them across generated examples is safe.
_STATELESS_FIXTURES = [hypothesis.HealthCheck.function_scoped_fixture]
hypothesis.settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, suppress_health_check=_STATELESS_FIXTURES
)
hypothesis.settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=_STATELESS_FIXTURES
)
hypothesis.settings.register_profile(
    "long", max_examples=20_000, deadline=None, suppress_health_check=_STATELESS_FIXTURES
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

os.environ.setdefault("KERAS_BACKEND", "jax")


@pytest.fixture(params=requested_backends(), ids=str)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Every backend the run asked for; importing a missing one fails the test."""
    chosen: Backend = request.param
    if chosen.module_name.startswith("jax"):
        import jax

        jax.config.update("jax_enable_x64", True)
    chosen.namespace()
    return chosen


@pytest.fixture
def xp(backend: Backend) -> Any:
    """The namespace of the requested backend."""
    return backend.namespace()
