"""The AWS runtime: the code that runs inside AWS Lambda (the retraining-trigger, deploy, batch and notify functions).

This folder is what the function archive ships (components/aws/functions.py), with the
contracts folder and the spec's durations; so it imports only the standard library,
boto3 and :mod:`mlops_dsl.contracts` (import-linter holds it to that). The SageMaker
pipeline steps run in the runtime image instead (:mod:`mlops_dsl.runtime.sagemaker_steps`).
"""
