"""An S3-compatible server on loopback (moto in server mode) for a lake on s3://."""
from __future__ import annotations

import uuid

import boto3
import pytest
from tests.support import moto_process

ACCESS_KEY = "AKIATESTLAKE0000"
SECRET_KEY = "lake-secret-4f1d9e2a7c"   # must never appear in output, logs or the lake
REGION = "eu-west-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    with moto_process() as endpoint:   # its own process: delta-rs commits to it (tests/support.py)
        yield endpoint


class Bucket:
    """A fresh bucket, the AWS variables that reach it, and a client to look inside."""

    def __init__(self, endpoint: str):
        self.name = f"lake-{uuid.uuid4().hex[:10]}"
        self.env = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION,
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                                   aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        self.client.create_bucket(Bucket=self.name, CreateBucketConfiguration={"LocationConstraint": REGION})

    def url(self, prefix: str = "prod") -> str:
        return f"s3://{self.name}/{prefix}"

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)


@pytest.fixture
def bucket(s3_endpoint, monkeypatch) -> Bucket:
    b = Bucket(s3_endpoint)
    for key, value in b.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return b
