"""``python -m subpixel bench --set users|cubes``: the cases, the runs and the printed ratios."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from subpixel.benchmark import _runs, _sets, _timing
from subpixel.benchmark import cli as bench_cli

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()


def test_users_set_is_the_documented_list() -> None:
    """Shape, dtype, factor, direction and layout of every case users run, in order."""
    found = [(c.op, c.shape, c.dtype, c.factor, c.channels_last, c.memory_format) for c in _sets.USERS]
    assert found == [
        ("unshuffle", (1, 1, 3000, 4000), "uint16", 2, False, False),
        ("shuffle", (1, 4, 1500, 2000), "uint16", 2, False, False),
        ("unshuffle", (8, 3, 1080, 1920), "uint8", 2, False, False),
        ("shuffle", (8, 12, 540, 960), "uint8", 2, False, False),
        ("shuffle", (1, 48, 540, 960), "float16", 4, False, False),
        ("unshuffle", (64, 3, 64, 64), "float32", 2, False, False),
        ("unshuffle", (4, 4, 360, 360), "uint8", 4, False, False),
        ("shuffle", (8, 540, 960, 12), "uint8", 2, True, False),
        ("unshuffle", (4, 512, 512, 16), "float32", 2, True, False),
        ("shuffle", (8, 540, 960, 12), "float32", 2, False, True),
        ("shuffle", (1, 64, 1024, 1024), "float32", 2, False, False),
        ("shuffle", (2, 27, 700, 700), "float32", 3, False, False),
    ]


def test_cubes_are_32_mib_each() -> None:
    """Eighteen cubes: three dtypes, both directions, factors 2 to 4, 32 MiB give or take a channel."""
    assert len(_sets.CUBES) == 18
    for case in _sets.CUBES:
        assert abs(case.nbytes - 32 * 2**20) <= case.nbytes // 8, case
        r = case.factor
        assert case.shape[1] % (r * r) == 0 if case.op == "shuffle" else case.shape[2] % r == 0, case


def test_a_set_runs_and_every_ratio_reads_higher_is_better(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs of a tiny set: the table states the sense of the ratios and has a geometric mean row."""
    tiny = (_sets.SetCase("tiny", "shuffle", (1, 8, 16, 16), "uint8", 2),)
    monkeypatch.setitem(_sets.SETS, "users", tiny)
    monkeypatch.setattr(_sets, "installed", lambda module: False)  # the NumPy candidates only
    out = tmp_path / "users.json"
    assert bench_cli.main(["--set", "users", "--runs", "2", "--quick", "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr()
    assert "reference time / subpixel time: higher is better" in printed.out
    assert "| tiny | shuffle | 1x8x16x16 | uint8 | 2 |" in printed.out
    assert "**geometric mean**" in printed.out
    assert "bench: set users, 1 cases x 2 runs" in printed.err
    assert out.read_text().count('"load_at_start"') == 2


def test_set_inputs_hold_every_bit_pattern() -> None:
    """The inputs are random bytes, so float cases carry NaN payloads and subnormals too."""
    x = _sets.make_input(_sets.SetCase("f", "shuffle", (1, 4, 64, 64), "float16", 2))
    assert np.isnan(x).any()
    assert (np.abs(x[np.isfinite(x)]) < np.finfo(np.float16).tiny).any()


def test_runs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad --runs is one line and status 2 before anything runs."""
    assert bench_cli.main(["--set", "users", "--runs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m subpixel bench: error: argument --runs: ")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("count", [1, 2, 3, 5, 6, 7, 10])
def test_interleaved_orders_give_every_candidate_every_predecessor_once(count: int) -> None:
    """Over one balanced square every ordered pair of candidates is adjacent equally often."""
    rows = _timing.square_size(count)
    orders = [_timing.order(count, k) for k in range(rows)]
    assert all(sorted(o) == list(range(count)) for o in orders)
    assert orders == [_timing.order(count, k + rows) for k in range(rows)]  # the square repeats
    pairs = collections.Counter((a, b) for o in orders for a, b in itertools.pairwise(o))
    assert len(pairs) == count * (count - 1)
    assert set(pairs.values()) <= {rows // count}
    assert collections.Counter(o[0] for o in orders) == dict.fromkeys(range(count), rows // count)


def test_interleaved_times_each_repeat_after_an_untimed_call_of_its_first_candidate() -> None:
    """The previous repeat's last candidate never precedes a timed call."""
    calls: list[int] = []

    def recorder(i: int) -> Callable[[], None]:
        return lambda: calls.append(i)

    samples = _timing.interleaved([recorder(i) for i in range(3)], [2, 1, 1], 4)
    assert [len(s) for s in samples] == [4, 4, 4]
    expected: list[int] = []
    for k in range(4):
        o = _timing.order(3, k)
        expected += [o[0], *(i for i in o for _ in range(2 if i == 0 else 1))]
    assert calls == expected


def test_set_runs_round_repeats_up_to_whole_squares(monkeypatch: pytest.MonkeyPatch) -> None:
    """A set's case is timed over whole balanced squares of its candidates."""
    seen: list[int] = []

    def fake(runs: list[Callable[[], object]], numbers: list[int], repeats: int) -> list[list[float]]:
        seen.append(repeats)
        return [[1.0] * repeats for _ in runs]

    monkeypatch.setattr(_timing, "interleaved", fake)
    monkeypatch.setattr(_timing, "calls_per_sample", lambda call, target_s: 1)
    case = _sets.USERS[0]
    monkeypatch.setattr(
        _runs, "candidates", lambda case, x: dict.fromkeys(["np.copy", "a", "subpixel numpy"], lambda: None)
    )
    monkeypatch.setattr(_runs, "make_input", lambda case: None)
    result = _runs.run_case(case, 7, 0.001)
    assert seen == [12]
    assert result["repeats"] == 12
