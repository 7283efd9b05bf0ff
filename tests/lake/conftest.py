"""An S3-compatible server (moto) for Delta tables on s3://, in a process of its own.

tests/scale runs moto as a thread of the test process; delta-rs's requests to such a thread
time out (180 s, tried here): delta-rs appears to hold the GIL while it waits on the store,
so the thread never runs. A moto of its own process answers at once."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid

import boto3
import pytest

REGION = "eu-west-1"
KEYS = {"aws_access_key_id": "AKIATESTDELTA000", "aws_secret_access_key": "delta-secret-9b3e"}


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto server did not start")
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def s3_bucket(moto_endpoint) -> str:
    name = f"delta-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, **KEYS).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name
