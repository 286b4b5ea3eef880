"""Attribution of one shipment's reduction to the initiatives that overlap on it, without counting
a tonne twice.

The input is the shipment's emissions ``E(S)`` for every set ``S`` of its ``n`` initiatives
applied (a bit mask over the initiatives in priority order; ``S = 0`` is the full baseline,
``S = 2^n - 1`` what happened). The reduction of a set is ``v(S) = E(0) - E(S)``.

- **Shapley values** (Shapley 1953, "A value for n-person games", Contributions to the Theory of
  Games II, pp. 307-317): initiative ``i`` gets the average of its marginal reduction over every
  order of arrival::

      phi_i = sum over S not containing i of |S|! (n - |S| - 1)! / n! x (E(S) - E(S + i))

- **Fixed order**: initiatives arrive in priority order; each gets its marginal reduction at its
  turn: ``phi_k = E({0..k-1}) - E({0..k})``.

Both are efficient: the contributions of a shipment sum to ``v(N) = E(0) - E(N)`` whatever the
method, so the choice moves tonnes between initiatives and changes no total.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import polars as pl

Method = Literal["shapley", "fixed_order"]
METHODS: Final = ("shapley", "fixed_order")


def pow2(exponent: pl.Expr) -> pl.Expr:
    """``2 ** exponent`` as Int64 (the bit of slot ``exponent`` in a set mask).

    Parameters
    ----------
    exponent : Expr
        Integer expression: the slot number (0 for the first initiative in priority order).

    Returns
    -------
    Expr
        Int64 expression ``2 ** exponent``.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(pow2(pl.lit(3))).item()
    8
    """
    return pl.lit(2, pl.Int64).pow(exponent).cast(pl.Int64)


def has_bit(mask: pl.Expr, slot: pl.Expr) -> pl.Expr:
    """Whether set ``mask`` holds slot ``slot``.

    Parameters
    ----------
    mask : Expr
        Integer expression: a set of initiatives as a bit mask (bit ``k`` for slot ``k``).
    slot : Expr
        Integer expression: the slot tested.

    Returns
    -------
    Expr
        Boolean expression, true when bit ``slot`` of ``mask`` is set.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(has_bit(pl.lit(0b101), pl.lit(2))).item()
    True
    >>> pl.select(has_bit(pl.lit(0b101), pl.lit(1))).item()
    False
    """
    return (mask // pow2(slot)) % 2 == 1


def shapley_weight(subset_size: int, n: int) -> float:
    """``|S|! (n - |S| - 1)! / n!``: the share of the orders of arrival in which the initiatives
    of ``S`` (and only they) came before the one being valued.

    Parameters
    ----------
    subset_size : int
        ``|S|``, the number of initiatives that arrived before the one being valued (count).
    n : int
        Number of initiatives on the shipment (count).

    Returns
    -------
    float
        The Shapley weight (fraction of the ``n!`` orders); over every ``S`` not holding the
        initiative valued, the weights sum to 1.

    References
    ----------
    .. [1] Shapley, L. S. (1953), A value for n-person games, Contributions to the Theory of
       Games II, Annals of Mathematics Studies 28, 307-317.

    Examples
    --------
    >>> shapley_weight(0, 2), shapley_weight(1, 2)
    (0.5, 0.5)
    >>> shapley_weight(1, 3)
    0.16666...
    """
    return math.factorial(subset_size) * math.factorial(n - subset_size - 1) / math.factorial(n)


def _weights(max_n: int) -> pl.DataFrame:
    rows = [(n, s, shapley_weight(s, n)) for n in range(1, max_n + 1) for s in range(0, n)]
    return pl.DataFrame(
        rows, schema={"n": pl.Int64, "size": pl.Int64, "__w": pl.Float64}, orient="row"
    )


def attribute(emissions: pl.DataFrame, method: Method) -> pl.DataFrame:
    """Contribution of each initiative slot ``k`` of each shipment.

    Parameters
    ----------
    emissions : DataFrame
        ``shipment_id``, ``n`` (initiatives on the shipment), ``mask`` (set applied, bit ``k``
        for the ``k``-th initiative in priority order) and one or more value columns (kg), for
        every mask in ``0 .. 2^n - 1``.
    method : {"shapley", "fixed_order"}
        ``shapley``: the average marginal reduction over every order of arrival;
        ``fixed_order``: the marginal reduction at the initiative's turn in priority order.

    Returns
    -------
    DataFrame
        ``shipment_id``, ``k`` and, per value column, the contribution (kg; positive is a
        reduction). The contributions of a shipment sum to ``E(0) - E(N)``.

    References
    ----------
    .. [1] Shapley, L. S. (1953), A value for n-person games, Contributions to the Theory of
       Games II, Annals of Mathematics Studies 28, 307-317.

    Examples
    --------
    Two initiatives: baseline 100 kg, 80 kg with the first, 70 kg with the second, 60 kg with
    both. Shapley: first ``(20 + 10) / 2 = 15``, second ``(30 + 10) / 2 = 25``; fixed order:
    first ``100 - 80 = 20``, second ``80 - 60 = 20``.

    >>> import polars as pl
    >>> e = pl.DataFrame({"shipment_id": ["s1"] * 4, "n": [2] * 4, "mask": [0, 1, 2, 3],
    ...                   "co2e_kg": [100.0, 80.0, 70.0, 60.0]})
    >>> attribute(e, "shapley")["co2e_kg"].to_list()
    [15.0, 25.0]
    >>> attribute(e, "fixed_order")["co2e_kg"].to_list()
    [20.0, 20.0]
    """
    values = [c for c in emissions.columns if c not in ("shipment_id", "n", "mask")]
    e = emissions.lazy().with_columns(pl.col("n").cast(pl.Int64), pl.col("mask").cast(pl.Int64))
    if method == "fixed_order":
        slots = (
            e.filter(pl.col("mask") == 0)
            .select("shipment_id", "n")
            .with_columns(pl.int_ranges(0, pl.col("n")).alias("k"))
            .explode("k")
            .with_columns(
                (pow2(pl.col("k")) - 1).alias("__before"),
                (pow2(pl.col("k") + 1) - 1).alias("__after"),
            )
        )
        before = e.select("shipment_id", pl.col("mask").alias("__before"), *values)
        after = e.select(
            "shipment_id",
            pl.col("mask").alias("__after"),
            *[pl.col(v).alias(f"{v}__a") for v in values],
        )
        return (
            slots.join(before, on=["shipment_id", "__before"], how="left")
            .join(after, on=["shipment_id", "__after"], how="left")
            .select(
                "shipment_id",
                "k",
                *[(pl.col(v) - pl.col(f"{v}__a")).alias(v) for v in values],
            )
            .sort("shipment_id", "k", maintain_order=True)
            .collect()
        )
    if method != "shapley":
        raise ValueError(f"unknown attribution method {method!r} (one of {', '.join(METHODS)})")
    max_n = int(emissions.select(pl.col("n").max()).item() or 0)
    if max_n == 0:
        empty: dict[str, pl.DataType] = {"shipment_id": emissions.schema["shipment_id"]}
        empty |= {"k": pl.Int64()} | {v: pl.Float64() for v in values}
        return pl.DataFrame(schema=empty)
    with_i = e.select(
        "shipment_id",
        pl.col("mask").alias("__with"),
        *[pl.col(v).alias(f"{v}__w") for v in values],
    )
    return (
        e.with_columns(pl.int_ranges(0, pl.col("n")).alias("k"))
        .explode("k")
        .filter(~has_bit(pl.col("mask"), pl.col("k")))
        .with_columns(
            (pl.col("mask") + pow2(pl.col("k"))).alias("__with"),
            pl.col("mask").cast(pl.UInt64).bitwise_count_ones().cast(pl.Int64).alias("size"),
        )
        .join(_weights(max_n).lazy(), on=["n", "size"], how="left")
        .join(with_i, on=["shipment_id", "__with"], how="left")
        .group_by("shipment_id", "k")
        .agg([(pl.col("__w") * (pl.col(v) - pl.col(f"{v}__w"))).sum().alias(v) for v in values])
        .sort("shipment_id", "k", maintain_order=True)
        .collect()
    )
