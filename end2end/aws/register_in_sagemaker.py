"""Registers a model version straight in SageMaker (the moto server at MOTO_URL), as a
SageMaker pipeline would: no Countersign involved, so nobody has been told yet. Prints the
version's number."""

import os
import sys

import boto3

group = sys.argv[1]
sagemaker = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
).client("sagemaker", endpoint_url=os.environ["MOTO_URL"])
groups = sagemaker.list_model_package_groups(NameContains=group)["ModelPackageGroupSummaryList"]
if not any(g["ModelPackageGroupName"] == group for g in groups):
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
arn = sagemaker.create_model_package(
    ModelPackageGroupName=group,
    ModelApprovalStatus="PendingManualApproval",
    InferenceSpecification={
        "Containers": [
            {"Image": f"registry.example/{group}:1", "ModelDataUrl": f"s3://models/{group}/1.tar.gz"}
        ],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    },
    CustomerMetadataProperties={"owner": "dana@example.com", "metric:auc": "0.93"},
)["ModelPackageArn"]
print(arn.rsplit("/", 1)[1])
