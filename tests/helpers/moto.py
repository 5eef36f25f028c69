"""An AWS API emulator (moto in server mode) on 127.0.0.1, for boto3 code under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.client import BaseClient

from tests.helpers.processes import Process, free_port


@contextmanager
def moto_server(log_dir: Path) -> Iterator[str]:
    """Run ``moto_server`` on a free loopback port; yields its endpoint URL."""
    import shutil

    port = free_port()
    executable = shutil.which("moto_server") or "moto_server"
    process = Process([executable, "-H", "127.0.0.1", "-p", str(port)], log_dir / "moto.log")
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/moto-api/", timeout=30)
        yield url
    finally:
        process.stop()


def client(service: str, endpoint: str, region: str = "eu-west-1") -> BaseClient:
    """A boto3 client talking to the emulator with throwaway credentials."""
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
