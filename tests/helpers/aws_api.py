"""Checking AWS requests against botocore's service models (the API's own definitions)."""

from __future__ import annotations

import json
from typing import Any

from botocore.validate import ParamValidator


def request_errors(client: Any, operation: str, params: dict[str, Any]) -> str:
    """Validation errors of a request to ``operation`` (empty when the request is well formed)."""
    shape = client.meta.service_model.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    return str(report.generate_report()) if report.has_errors() else ""


class Gap:
    """A client for calls the emulator lacks: each request is checked against the API model and recorded.

    moto implements most of SageMaker but not UpdateEndpoint or the monitoring
    schedule calls; those go through here, everything else to moto.
    """

    def __init__(self, emulated: Any, operations: dict[str, Any]) -> None:
        self._emulated = emulated
        self._operations = operations
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        if name not in self._operations:
            return getattr(self._emulated, name)
        operation = self._emulated.meta.method_to_api_mapping[name]

        def call(**params: Any) -> Any:
            errors = request_errors(self._emulated, operation, params)
            if errors:
                raise AssertionError(f"{operation} request is not valid for the AWS API: {errors}")
            self.calls.append((operation, params))
            return self._operations[name](**params)

        return call


# A SageMaker pipeline definition's steps are API requests made while a run executes: each step's
# ``Arguments`` is the request of the call below, minus the job name SageMaker Pipelines fills in.
STEP_OPERATIONS = {
    "Processing": ("CreateProcessingJob", {"ProcessingJobName": "step"}),
    "QualityCheck": ("CreateProcessingJob", {"ProcessingJobName": "step"}),
    "Training": ("CreateTrainingJob", {"TrainingJobName": "step"}),
    "Transform": ("CreateTransformJob", {"TransformJobName": "step"}),
    "RegisterModel": ("CreateModelPackage", {}),
}
EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")
EXECUTION_VARIABLES = {"PipelineName", "PipelineExecutionId", "PipelineExecutionArn", "PipelineArn", "StartDateTime", "CurrentDateTime"}
CONDITION_TYPES = {"Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo", "In", "Not", "Or"}
PARAMETER_TYPES = {"String", "Integer", "Float", "Boolean"}


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSIONS


def _concrete(value: Any, shape: Any, where: str, errors: list[str]) -> Any:
    """``value`` with each run-time expression replaced by a stand-in of the type the API expects there.

    botocore checks types, required members and unknown names; enum values are
    checked here, since botocore leaves them to the service.
    """
    if _is_expression(value):
        stand_ins = {"string": "expression", "integer": 1, "long": 1, "float": 1.0, "double": 1.0, "boolean": True}
        if shape.type_name not in stand_ins:
            errors.append(f"{where}: a run-time expression where the API expects a {shape.type_name}")
            return value
        return stand_ins[shape.type_name]
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _concrete(v, shape.members[k], f"{where}.{k}", errors) if k in shape.members else v for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_concrete(v, shape.member, f"{where}[{i}]", errors) for i, v in enumerate(value)]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _concrete(v, shape.value, f"{where}.{k}", errors) for k, v in value.items()}
    if shape.type_name == "string" and shape.enum and isinstance(value, str) and value not in shape.enum:
        errors.append(f"{where}: {value!r} is not one of {sorted(shape.enum)}")
    return value


def _steps(steps: list[dict[str, Any]]) -> Any:
    """Every step, with those inside conditions."""
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _steps(step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", []))


def _references(value: Any) -> Any:
    """The path of every ``Get`` expression inside ``value``."""
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
        for v in value.values():
            yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


def _unresolved(path: str, parameters: dict[str, Any], property_files: dict[str, set[str]]) -> str:
    """Why a ``Get`` path names nothing in the definition ("" when it resolves)."""
    kind, _, rest = path.partition(".")
    target, _, attribute = rest.partition(".")
    if kind == "Parameters":
        return "" if rest in parameters else f"{path} names no declared parameter"
    if kind == "Execution":
        return "" if rest in EXECUTION_VARIABLES else f"{path} is not an execution variable"
    if kind != "Steps":
        return f"{path} is not a parameter, execution variable or step property"
    if target not in property_files:
        return f"{path} names no step"
    if attribute.startswith("PropertyFiles.") and attribute.removeprefix("PropertyFiles.") not in property_files[target]:
        return f"{path} names no property file of {target}"
    return ""


def _step_errors(service: Any, step: dict[str, Any], where: str) -> list[str]:
    """What is wrong with a step's own arguments."""
    errors: list[str] = []
    if step["Type"] in STEP_OPERATIONS:
        operation, filled_in = STEP_OPERATIONS[step["Type"]]
        shape = service.operation_model(operation).input_shape
        request = {**filled_in, **_concrete(step["Arguments"], shape, f"{where}.Arguments", errors)}
        report = ParamValidator().validate(request, shape)
        if report.has_errors():
            errors.append(f"{where}: not a valid {operation} request: {report.generate_report()}")
    elif step["Type"] == "Condition":
        types = [c.get("Type") for c in step["Arguments"]["Conditions"]]
        errors += [f"{where}: condition type {t!r} is not one of {sorted(CONDITION_TYPES)}" for t in types if t not in CONDITION_TYPES]
    elif step["Type"] == "Fail":
        unknown = set(step["Arguments"]) - {"ErrorMessage"}
        errors += [f"{where}: unknown arguments {sorted(unknown)}"] if unknown else []
    else:
        errors.append(f"{where}: step type {step['Type']!r} is not one this check knows")
    return errors


def pipeline_definition_errors(client: Any, document: str) -> list[str]:
    """What would keep SageMaker from accepting ``document`` as a pipeline definition.

    The size limit and each step's request come from botocore's SageMaker
    model; the references (steps, parameters, property files, execution
    variables, ``DependsOn``) follow the definition schema (version 2020-12-01).
    """
    service = client.meta.service_model
    errors: list[str] = []
    limit = service.operation_model("CreatePipeline").input_shape.members["PipelineDefinition"].metadata["max"]
    if len(document) > limit:
        errors.append(f"the definition is {len(document)} characters; CreatePipeline takes at most {limit}")
    definition = json.loads(document)
    if definition.get("Version") != "2020-12-01":
        errors.append(f"Version: {definition.get('Version')!r} is not '2020-12-01'")
    parameters = {p["Name"]: p for p in definition.get("Parameters", [])}
    for name, parameter in parameters.items():
        if parameter.get("Type") not in PARAMETER_TYPES:
            errors.append(f"Parameters.{name}: type {parameter.get('Type')!r} is not one of {sorted(PARAMETER_TYPES)}")
    steps = list(_steps(definition.get("Steps", [])))
    names = [step["Name"] for step in steps]
    errors += [f"step {name!r} is named twice" for name in sorted({n for n in names if names.count(n) > 1})]
    property_files = {step["Name"]: {f["PropertyFileName"] for f in step.get("PropertyFiles", [])} for step in steps}
    for step in steps:
        where = f"Steps.{step['Name']}"
        errors += [f"{where}.DependsOn: no step {d!r}" for d in step.get("DependsOn", []) if d not in property_files]
        errors += _step_errors(service, step, where)
        # A condition's branches are steps of their own, checked in their turn.
        own = step["Arguments"]["Conditions"] if step["Type"] == "Condition" else step
        errors += [f"{where}: {problem}" for path in _references(own) if (problem := _unresolved(path, parameters, property_files))]
    experiment = _references(definition.get("PipelineExperimentConfig", {}))
    errors += [f"PipelineExperimentConfig: {problem}" for path in experiment if (problem := _unresolved(path, {}, {}))]
    return errors
