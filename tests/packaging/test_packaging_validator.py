"""The independent validator: hand-made packings it must accept or refuse, and properties."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from greenstream.levers.packaging.validator import Placements, Units, violations


def units(dims: list[tuple[float, float, float]], **rules: list[object]) -> Units:
    n = len(dims)
    arr = np.array(dims, dtype=float)
    return Units(
        arr[:, 0],
        arr[:, 1],
        arr[:, 2],
        np.array(rules.get("mass", [1.0] * n), dtype=float),
        np.array(rules.get("upright", [False] * n), dtype=bool),
        np.array(rules.get("fragile", [False] * n), dtype=bool),
        np.array(rules.get("mwa", [np.nan] * n), dtype=float),
    )


def at(boxes: list[tuple[float, float, float, float, float, float]]) -> Placements:
    a = np.array(boxes, dtype=float)
    return Placements(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5])


BOX = (200.0, 200.0, 200.0)
CUBE = (100.0, 100.0, 100.0)


def test_accepts_a_stack_and_a_neighbour() -> None:
    u = units([CUBE, CUBE, CUBE])
    p = at([(0, 0, 0, 100, 100, 100), (0, 0, 100, 100, 100, 100), (100, 0, 0, 100, 100, 100)])
    assert violations(BOX, u, p) == []


def test_refuses_overlap_outside_and_wrong_dimensions() -> None:
    u = units([CUBE, CUBE])
    assert (
        "overlap"
        in violations(BOX, u, at([(0, 0, 0, 100, 100, 100), (50, 0, 0, 100, 100, 100)]))[0]
    )
    assert (
        "outside"
        in violations(BOX, u, at([(0, 0, 0, 100, 100, 100), (150, 0, 0, 100, 100, 100)]))[0]
    )
    flat = units([(100, 50, 20)])
    assert "not its dimensions" in violations(BOX, flat, at([(0, 0, 0, 100, 100, 20)]))[0]


def test_refuses_a_floating_or_badly_supported_unit() -> None:
    u = units([CUBE, CUBE])
    floating = at([(0, 0, 0, 100, 100, 100), (100, 0, 50, 100, 100, 100)])
    assert any("supported" in v for v in violations(BOX, u, floating))
    # half the base on the lower cube: 50 % < 75 %
    half = at([(0, 0, 0, 100, 100, 100), (50, 0, 100, 100, 100, 100)])
    assert any("50%" in v for v in violations(BOX, u, half, minimum_support_share=0.75))
    assert violations(BOX, u, half, minimum_support_share=0.5) == []


def test_rules_upright_fragile_weight_above_and_load() -> None:
    tall = units([(50, 50, 150)], upright=[True])
    assert any("upright" in v for v in violations(BOX, tall, at([(0, 0, 0, 150, 50, 50)])))
    stack = at([(0, 0, 0, 100, 100, 100), (0, 0, 100, 100, 100, 100)])
    fragile = units([CUBE, CUBE], fragile=[True, False])
    assert any("fragile" in v for v in violations(BOX, fragile, stack))
    weak = units([CUBE, CUBE], mass=[1.0, 3.0], mwa=[2.0, np.nan])
    assert any("bears 3.000 kg" in v for v in violations(BOX, weak, stack))
    heavy = units([CUBE, CUBE], mass=[6.0, 6.0])
    assert any("exceeds" in v for v in violations(BOX, heavy, stack, max_load_kg=10.0))


def test_count_mismatch_is_refused() -> None:
    assert violations(BOX, units([CUBE, CUBE]), at([(0, 0, 0, 100, 100, 100)]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(1, 2)),
        min_size=1,
        max_size=6,
    )
)
def test_disjoint_grid_cells_are_valid_and_a_shifted_copy_is_not(
    cells: list[tuple[int, ...]],
) -> None:
    """Units on distinct cells of a 50 mm grid, stacked from the floor up, never overlap; moving
    one onto another's cell is always refused."""
    unique = {}
    for x, y, _z, h in cells:
        unique.setdefault((x, y), h)
    placed = []
    dims = []
    for (x, y), h in unique.items():
        placed.append((x * 50.0, y * 50.0, 0.0, 50.0, 50.0, 50.0 * h))
        dims.append((50.0, 50.0, 50.0 * h))
    box = (200.0, 200.0, 100.0)
    assert violations(box, units(dims), at(placed)) == []
    if len(placed) > 1:
        moved = list(placed)
        moved[1] = (placed[0][0], placed[0][1], 0.0, *placed[1][3:])
        assert any("overlap" in v for v in violations(box, units(dims), at(moved)))


SIDE = st.integers(1, 6).map(lambda v: v * 50.0)
SLOTS = 4


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(SIDE, SIDE, SIDE), min_size=1, max_size=SLOTS),  # unit dims
            st.lists(
                st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
                min_size=SLOTS,
                max_size=SLOTS,
            ),
            st.lists(st.integers(0, 5), min_size=SLOTS, max_size=SLOTS),  # orientation index
            st.lists(st.booleans(), min_size=2 * SLOTS, max_size=2 * SLOTS),  # upright, fragile
            st.lists(
                st.one_of(st.just(float("nan")), st.floats(0, 3)), min_size=SLOTS, max_size=SLOTS
            ),
            st.tuples(SIDE, SIDE, SIDE),
            st.floats(0.5, 10),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([0.0, 0.5, 0.75, 1.0]),
)
def test_batch_validator_equals_the_reference(packages: list[tuple], share: float) -> None:
    """``valid_batch`` gives the verdict of ``violations`` on every package (one to four units,
    empty slots NaN)."""
    from greenstream.levers.packaging.geometry import PERMUTATIONS
    from greenstream.levers.packaging.validator import valid_batch

    n = len(packages)
    dims = np.full((n, SLOTS, 3), np.nan)
    pos = np.full((n, SLOTS, 3), np.nan)
    ext = np.full((n, SLOTS, 3), np.nan)
    mass = np.zeros((n, SLOTS))
    up = np.zeros((n, SLOTS), dtype=bool)
    fr = np.zeros((n, SLOTS), dtype=bool)
    mwa = np.full((n, SLOTS), np.nan)
    box = np.zeros((n, 3))
    load = np.zeros(n)
    expected = []
    for p, (ds, cells, rots, flags, limits, bdim, cap) in enumerate(packages):
        m = len(ds)
        for i in range(m):
            d = np.array(ds[i])
            dims[p, i] = d
            ext[p, i] = d[PERMUTATIONS[rots[i]]]
            pos[p, i] = np.array(cells[i], dtype=float) * 50.0
            mass[p, i] = 1.0 + i
            up[p, i], fr[p, i] = flags[i], flags[SLOTS + i]
            mwa[p, i] = limits[i]
        box[p], load[p] = bdim, cap
        u = Units(
            dims[p, :m, 0],
            dims[p, :m, 1],
            dims[p, :m, 2],
            mass[p, :m],
            up[p, :m],
            fr[p, :m],
            mwa[p, :m],
        )
        pl_ = Placements(*(pos[p, :m, k] for k in range(3)), *(ext[p, :m, k] for k in range(3)))
        expected.append(not violations(bdim, u, pl_, max_load_kg=cap, minimum_support_share=share))
    got = valid_batch(
        box, dims, mass, up, fr, mwa, pos, ext, max_load_kg=load, minimum_support_share=share
    )
    assert got.tolist() == expected
