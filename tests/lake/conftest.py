"""An S3-compatible server (moto) for Delta tables on s3://, in a process of its own
(tests/support.py says why)."""
from __future__ import annotations

import uuid

import boto3
import pytest

from tests.support import moto_process

REGION = "eu-west-1"
KEYS = {"aws_access_key_id": "AKIATESTDELTA000", "aws_secret_access_key": "delta-secret-9b3e"}


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    with moto_process() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(moto_endpoint) -> str:
    name = f"delta-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, **KEYS).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name
