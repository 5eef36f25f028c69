"""Code that runs inside AWS: the retraining-trigger and deploy functions, and the pipeline's steps.

The functions are packaged by Pulumi straight from these files, with the shared
retraining policy; they need only the standard library and boto3.
"""
