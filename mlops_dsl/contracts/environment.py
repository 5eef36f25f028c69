"""The environment variables the deploy side sets and the runtime reads: their names, once.

The Kubernetes components, the local target's layout and the SageMaker pipeline
definitions set these variables on the processes they start; the runtime's
services (and the ``mlops`` command line's defaults) read them. Both sides import
the names from here, so a renamed variable cannot leave one side behind.
(The AWS Lambda functions' own variables are in :mod:`mlops_dsl.contracts.aws`.)
"""

from __future__ import annotations

SPEC_ENV = "MLOPS_SPEC"
"""The resolved platform spec (JSON) a service runs with, when ``--spec`` is not given."""
ENVIRONMENT_ENV = "MLOPS_ENV"
"""The spec's environment a service runs, when ``--env`` is not given."""
STATE_DIR_ENV = "MLOPS_STATE_DIR"
"""The state directory (data, Feast repo, captured traffic, runs), when ``--state-dir`` is not given."""
REGISTRY_URI_ENV = "MLOPS_REGISTRY_URI"
"""The model registry's MLflow URI (a server in a cluster); without it, SQLite in the state directory."""
MODEL_ENV = "MLOPS_MODEL"
"""The model a SageMaker step or a triggered training Job is for, when ``--model`` is not given."""
MODEL_DIR_ENV = "MLOPS_MODEL_DIR"
"""A model directory to serve as is: ``mlops serve`` in a SageMaker endpoint's container."""
RUN_ID_ENV = "MLOPS_RUN_ID"
"""The id of a training run the retraining trigger started, when ``--run-id`` is not given."""
TRIGGER_REASON_ENV = "MLOPS_TRIGGER_REASON"
"""Why a training run happens (an alert, a schedule, new data), when ``--reason`` is not given."""
RESULT_URL_ENV = "MLOPS_RESULT_URL"
"""Where a training run posts its result: the trigger's ``/runs/<id>/result`` (Kubernetes Jobs)."""
TRIGGER_URL_ENV = "MLOPS_TRIGGER_URL"
"""The retraining trigger's own URL, from which its Kubernetes Jobs' result URLs are made."""
WEBHOOK_SECRET_ENV = "MLOPS_WEBHOOK_SECRET"
"""The retraining webhook's secret (bearer token or HMAC key) itself."""
WEBHOOK_SECRET_FILE_ENV = "MLOPS_WEBHOOK_SECRET_FILE"
"""A file holding the retraining webhook's secret (a mounted Secret); read before ``MLOPS_WEBHOOK_SECRET``."""
CODE_VERSION_ENV = "MLOPS_CODE_VERSION"
"""The code version recorded in a trained version's lineage (the runtime image sets it when built)."""
CODE_DIR_ENV = "MLOPS_CODE_DIR"
"""Where the team's code (``Platform.code``) is: a folder, or a ``.zip`` of one (:mod:`mlops_dsl.contracts.code`)."""

NAMES = frozenset(
    {
        SPEC_ENV,
        ENVIRONMENT_ENV,
        STATE_DIR_ENV,
        REGISTRY_URI_ENV,
        MODEL_ENV,
        MODEL_DIR_ENV,
        RUN_ID_ENV,
        TRIGGER_REASON_ENV,
        RESULT_URL_ENV,
        TRIGGER_URL_ENV,
        WEBHOOK_SECRET_ENV,
        WEBHOOK_SECRET_FILE_ENV,
        CODE_VERSION_ENV,
        CODE_DIR_ENV,
    }
)
"""Every name above."""
