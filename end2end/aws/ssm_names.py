"""Prints, one per line, the name of every SSM parameter under a path (argv[1]) in the moto
server at MOTO_URL."""

import os
import sys

import boto3

session = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
ssm = session.client("ssm", endpoint_url=os.environ["MOTO_URL"])
for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=sys.argv[1], Recursive=True):
    for parameter in page["Parameters"]:
        print(parameter["Name"])
