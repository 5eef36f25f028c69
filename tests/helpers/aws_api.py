"""Checking AWS requests against botocore's service models (the API's own definitions)."""

from __future__ import annotations

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
