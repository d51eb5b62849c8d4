"""Swaps the image in an environment's live parameter behind the portal's back, as someone
allowed ssm:PutParameter could: the end-to-end tests check the portal reports it."""

import json
import os
import sys

import boto3

group, environment, image = sys.argv[1], sys.argv[2], sys.argv[3]
session = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
ssm = session.client("ssm", endpoint_url=os.environ["MOTO_URL"])
name = f"/countersign/{group}/{environment}"
document = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
document["image_uri"] = image
ssm.put_parameter(Name=name, Value=json.dumps(document), Type="String", Overwrite=True)
