"""What the AWS target hands to its Lambda functions: the names of their environment variables.

Both sides import these names: the Pulumi components that set the variables, and the
functions that read them.
"""

from __future__ import annotations

DEPLOY_CONFIG_ENV = "MLOPS_DEPLOY_CONFIG"
"""The deploy function's settings, by model package group (JSON)."""
BATCH_CONFIG_ENV = "MLOPS_BATCH_CONFIG"
"""The batch function's settings, by model (JSON)."""
TRIGGER_CONFIG_ENV = "MLOPS_TRIGGER_CONFIG"
"""The trigger function's models, alarms and sources (JSON)."""
TRIGGER_TABLE_ENV = "MLOPS_TABLE"
"""The trigger function's DynamoDB state table."""
