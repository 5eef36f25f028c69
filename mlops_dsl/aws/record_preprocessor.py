"""Model Monitor's record preprocessor: captured Open Inference Protocol exchanges as flat rows.

SageMaker Model Monitor calls ``preprocess_handler`` for each captured record
of the endpoint. It returns one row per inference row, with the model's input
features and its prediction, so the data-quality job measures drift of both
against the baseline the training pipeline computed. ``MLOPS_FEATURES`` (JSON,
from the job definition's environment) names the inputs in the model's order.
"""

import json
import os

FEATURES = json.loads(os.environ.get("MLOPS_FEATURES", "[]"))
PREDICTION_OUTPUTS = ("probability", "prediction", "probabilities")


def _flatten(data):
    flat = []
    for value in data:
        flat.extend(_flatten(value) if isinstance(value, list) else [value])
    return flat


def rows_of(request, response):
    """Flat rows (feature values and the prediction) from one request and its response."""
    inputs = request["inputs"]
    if len(inputs) == 1 and len(inputs[0]["shape"]) == 2 and inputs[0]["shape"][1] == len(FEATURES):
        values = _flatten(inputs[0]["data"])
        width = len(FEATURES)
        columns = {name: values[i::width] for i, name in enumerate(FEATURES)}
    else:
        columns = {tensor["name"]: _flatten(tensor["data"]) for tensor in inputs}
    output = next(o for o in response["outputs"] if o["name"] in PREDICTION_OUTPUTS)
    predictions = _flatten(output["data"])
    if output["name"] == "probabilities":  # multiclass [N, C]: the top class's probability, as the training baseline has it
        width = output["shape"][1]
        predictions = [max(predictions[i : i + width]) for i in range(0, len(predictions), width)]
    rows = []
    for index, prediction in enumerate(predictions):
        row = {name: columns[name][index] for name in FEATURES if name in columns}
        row["prediction"] = prediction
        rows.append(row)
    return rows


def preprocess_handler(inference_record, logger=None):
    """Model Monitor's entry point."""
    request = json.loads(inference_record.endpoint_input.data)
    response = json.loads(inference_record.endpoint_output.data)
    return rows_of(request, response)
