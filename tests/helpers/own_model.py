"""A platform written from scratch, as a team would: its own code, its own data, two kinds of model.

Not one of the shipped examples. A fleet of vehicles reports telemetry (a CSV
source) and workshops report what they found later (a Parquet source). Two
models: ``condition`` (multiclass: ok, worn, failing), trained by the team's
estimator factory (a Pipeline whose first step is the team's own feature
function), and ``repair-cost`` (regression), trained by the team's training
function. The code lives in ``src/`` (``Platform(code="src")``), and the spec
is called ``platform.py``, like Python's own ``platform`` module.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ["speed", "load", "temperature", "vibration"]
CLASSES = [0, 1, 2]

SPEC = """
from mlops_dsl import (
    DataDrift, DataValidation, Email, Entity, Environment, AwsTarget, Feature, FeatureStore, FeatureView, Gate, KubernetesTarget,
    Label, LocalTarget, Model, OnAlert, Platform, Registry, Retraining, Serving, Source, Training,
)

telemetry = FeatureView(
    name="vehicle_stats",
    entities=["vehicle"],
    source="telemetry",
    ttl="30d",
    features=[Feature(name=name, dtype="float64") for name in ("speed", "load", "temperature", "vibration")],
)
INPUTS = [f"vehicle_stats:{name}" for name in ("speed", "load", "temperature", "vibration")]

condition = Model(
    name="condition",
    task="classification",
    features=INPUTS,
    label=Label(source="workshop", column="condition"),
    training=Training(
        estimator="fleet_ml.models.condition_pipeline",
        hyperparameters={"strength": 2.0},
        data_validation=DataValidation(min_rows=300),
        gate=Gate(metric="accuracy", threshold=0.5, must_beat_production=False),
    ),
    registry=Registry(approval="automatic"),
    serving=Serving(replicas=1),
    monitors=[
        DataDrift(name="condition-drift", features=["vehicle_stats:temperature"], method="ks", threshold=0.2,
                  window="30s", fire_after="10s"),
    ],
    retraining=Retraining(triggers=[OnAlert(alert="condition-drift")], cooldown="2m", dedup_window="1m"),
)

repair_cost = Model(
    name="repair-cost",
    task="regression",
    features=INPUTS,
    label=Label(source="workshop", column="repair_cost"),
    training=Training(
        entrypoint="fleet_ml.training.fit_cost",
        hyperparameters={"alpha": 0.5},
        data_validation=DataValidation(min_rows=300),
        gate=Gate(metric="r2", threshold=0.3, must_beat_production=False),
    ),
    registry=Registry(approval="automatic"),
    serving=Serving(replicas=1),
)

platform = Platform(
    name="fleet",
    code="src",
    image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-runtime:0.1.0",
    feature_store=FeatureStore(
        project="fleet",
        entities=[Entity(name="vehicle", join_key="vehicle_id")],
        sources=[
            Source(name="telemetry", path="raw/telemetry", format="csv"),
            Source(name="workshop", path="raw/workshop"),
        ],
        feature_views=[telemetry],
    ),
    models=[condition, repair_cost],
    notifications=[Email(name="fleet-team", to=["fleet-ml@example.com"], sender="mlops@example.com", smarthost="smtp.example.com:587")],
    environments={
        "local": Environment(
            target=LocalTarget(base_port=BASE_PORT),
            stage="dev",
            overrides={"alerting": {"evaluation_interval": "5s", "group_wait": "5s", "group_interval": "30s"}},
        ),
        "dev": Environment(target=KubernetesTarget(namespace="fleet-dev")),
        "prod": Environment(target=AwsTarget(region="eu-west-1"), overrides={"models.condition.registry.approval": "manual",
                                                                            "models.repair-cost.registry.approval": "manual"}),
    },
)
"""

FEATURES_MODULE = '''
"""The team's feature engineering: ratios the models learn better from."""

import numpy as np


def add_ratios(x):
    """Append load per unit of speed and vibration per degree to the four raw inputs."""
    x = np.asarray(x, dtype=float)
    speed, load, temperature, vibration = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    return np.column_stack([x, load / (speed + 1.0), vibration / (np.abs(temperature) + 1.0)])
'''

MODELS_MODULE = '''
"""The team's estimator factory: a scikit-learn Pipeline with their own preprocessing."""

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from fleet_ml.features import add_ratios


def condition_pipeline(strength: float = 1.0, random_state: int = 0):
    return Pipeline(
        [
            ("ratios", FunctionTransformer(add_ratios)),
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=strength, max_iter=500, random_state=random_state)),
        ]
    )
'''

TRAINING_MODULE = '''
"""The team's own training function: the platform hands it the rows, it hands back the fitted model."""

from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from fleet_ml.features import add_ratios



def fit_cost(context):
    model = make_pipeline(FunctionTransformer(add_ratios), StandardScaler(), Ridge(alpha=context.hyperparameters["alpha"]))
    return model.fit(context.x, context.y)
'''


def write_project(folder: Path, *, base_port: int = 18080) -> Path:
    """The project in ``folder``: ``platform.py``, ``src/fleet_ml``; returns the spec file."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "platform.py"
    spec.write_text(f"BASE_PORT = {base_port}\n" + textwrap.dedent(SPEC))
    package = folder / "src" / "fleet_ml"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""The fleet team\'s models."""\n')
    (package / "features.py").write_text(textwrap.dedent(FEATURES_MODULE))
    (package / "models.py").write_text(textwrap.dedent(MODELS_MODULE))
    (package / "training.py").write_text(textwrap.dedent(TRAINING_MODULE))
    return spec


def vehicles(rows: int, *, seed: int, shift: float = 0.0, first_id: int = 0) -> pd.DataFrame:
    """Telemetry of ``rows`` vehicles; ``shift`` moves the temperatures (the fleet moves somewhere hotter)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "vehicle_id": np.arange(first_id, first_id + rows, dtype="int64"),
            "speed": rng.uniform(20, 120, rows),
            "load": rng.uniform(0, 40, rows),
            "temperature": rng.normal(70 + 40 * shift, 12, rows),
            "vibration": rng.gamma(2.0, 1.5, rows),
        }
    )
    return frame


def condition_of(frame: pd.DataFrame) -> np.ndarray:
    """The workshop's finding: 0 ok, 1 worn, 2 failing."""
    wear = 0.03 * (frame["temperature"] - 70) + 0.5 * frame["vibration"] + 0.02 * frame["load"]
    return np.digitize(wear.to_numpy(), [1.6, 3.0]).astype("int64")


def cost_of(frame: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    return (
        50 + 8 * frame["load"] + 40 * frame["vibration"] + 1.5 * frame["load"] / (frame["speed"] + 1) * 100 + rng.normal(0, 20, len(frame))
    ).to_numpy()


def write_data(data_root: Path, *, rows: int = 1200, seed: int = 7, part: str = "part-0000") -> tuple[Path, Path]:
    """Telemetry as CSV (timezone-aware ISO timestamps) and workshop findings a day later as Parquet."""
    frame = vehicles(rows, seed=seed)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    stamps = [start + timedelta(minutes=10 * i) for i in range(rows)]
    telemetry = frame.assign(event_timestamp=[stamp.isoformat() for stamp in stamps])
    csv = data_root / "raw" / "telemetry" / f"{part}.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    telemetry.to_csv(csv, index=False)
    workshop = pd.DataFrame(
        {
            "vehicle_id": frame["vehicle_id"],
            "event_timestamp": pd.to_datetime([stamp + timedelta(days=1) for stamp in stamps], utc=True),
            "condition": condition_of(frame),
            "repair_cost": cost_of(frame, seed),
        }
    )
    parquet = data_root / "raw" / "workshop" / f"{part}.parquet"
    parquet.parent.mkdir(parents=True, exist_ok=True)
    workshop.to_parquet(parquet, index=False)
    return csv, parquet
