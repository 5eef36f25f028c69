"""AWS target: pulumi-aws components (type tokens ``mlops:aws:<Type>``)."""

from components.aws.platform import AwsPlatform, AwsPlatformArgs

__all__ = ["AwsPlatform", "AwsPlatformArgs"]
