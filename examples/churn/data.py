"""Synthetic data for the churn example: customer activity, billing and churn labels.

Customers are drawn from a population; ``shift`` (0 to 1) moves that
population the way a real market change would (usage falls, prices and
support tickets rise), which is what the drift monitors are there to notice.
Labels depend on the features through a fixed logistic model plus noise, so a
model trained on the data can learn them, and a model trained before a shift
does worse after it.

``mlops up`` calls :func:`generate` to seed the local target; the feedback-loop
tests and the traffic sender use :func:`requests` and :func:`labels`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ACTIVITY = ["tenure_months", "sessions_last_30d", "avg_session_minutes", "support_tickets_90d"]
BILLING = ["monthly_charges", "contract_months", "late_payments_12m"]
FEATURES = ACTIVITY + BILLING


def population(size: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    """Feature values for ``size`` customers, drawn from the (shifted) population."""
    return pd.DataFrame(
        {
            "tenure_months": rng.integers(0, 121, size),
            "sessions_last_30d": rng.poisson(22 * (1 - 0.6 * shift), size),
            "avg_session_minutes": np.round(rng.gamma(2.0, 6.0, size) * (1 - 0.5 * shift), 2),
            "support_tickets_90d": rng.poisson(1 + 3 * shift, size),
            "monthly_charges": np.round(np.clip(rng.normal(65 + 30 * shift, 20, size), 10, 250), 2),
            "contract_months": rng.choice([1, 12, 24], size, p=[0.5, 0.3, 0.2]),
            "late_payments_12m": rng.poisson(0.5 + shift, size),
        }
    )


def churn_probability(frame: pd.DataFrame, shift: float = 0.0) -> np.ndarray:
    """The true probability that each customer cancels (what a model should learn).

    The market change behind ``shift`` also changes why customers leave: price
    matters more, usage and support tickets less. So a model trained before the
    shift is not just facing new inputs, it is out of date.
    """
    logit = (
        1.2
        - 0.025 * frame["tenure_months"]
        - (0.07 - 0.06 * shift) * frame["sessions_last_30d"]
        - 0.06 * frame["avg_session_minutes"]
        + (0.45 - 0.4 * shift) * frame["support_tickets_90d"]
        + (0.02 + 0.06 * shift) * (frame["monthly_charges"] - 65)
        - 0.08 * frame["contract_months"]
        + 0.5 * frame["late_payments_12m"]
        - 1.5 * shift
    )
    return np.asarray(1 / (1 + np.exp(-logit)))


def labels(frame: pd.DataFrame, rng: np.random.Generator, shift: float = 0.0) -> np.ndarray:
    """Whether each customer actually cancelled (0 or 1)."""
    return (rng.random(len(frame)) < churn_probability(frame, shift)).astype("int64")


def generate(
    data_root: Path,
    *,
    customers: int = 2000,
    snapshots: int = 3,
    seed: int = 0,
    shift: float = 0.0,
    end: datetime | None = None,
    tag: str = "history",
    first_customer: int = 1,
) -> int:
    """Write ``snapshots`` daily snapshots of every customer under ``data_root/raw``.

    Each snapshot adds one parquet file per source: activity, billing, and
    labels an hour later (ground truth arrives after the features). Returns
    the number of labelled rows written.
    """
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC)
    ids = np.arange(first_customer, first_customer + customers, dtype="int64")
    frames: dict[str, list[pd.DataFrame]] = {"customer_activity": [], "billing": [], "churn_labels": []}
    for index in range(snapshots):
        day = end - timedelta(days=snapshots - index, hours=2)
        # Distinct timestamps per row: Feast's file store sorts on them.
        stamps = pd.to_datetime([day + timedelta(seconds=int(i)) for i in range(customers)], utc=True)
        features = population(customers, rng, shift)
        frames["customer_activity"].append(features[ACTIVITY].assign(customer_id=ids, event_timestamp=stamps))
        frames["billing"].append(features[BILLING].assign(customer_id=ids, event_timestamp=stamps))
        frames["churn_labels"].append(
            pd.DataFrame({"customer_id": ids, "event_timestamp": stamps + pd.Timedelta(hours=1), "churned": labels(features, rng, shift)})
        )
    for source, parts in frames.items():
        folder = data_root / "raw" / source
        folder.mkdir(parents=True, exist_ok=True)
        pd.concat(parts, ignore_index=True).to_parquet(folder / f"part-{tag}.parquet", index=False)
    return customers * snapshots


def requests(size: int, *, seed: int = 1, shift: float = 0.0) -> pd.DataFrame:
    """Feature rows for prediction traffic, from the (shifted) population."""
    return population(size, np.random.default_rng(seed), shift)
