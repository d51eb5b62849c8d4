"""Prints what SageMaker and SSM (the moto server at MOTO_URL) hold for one model version,
as JSON, so the end-to-end tests can check the AWS side with AWS's own client (boto3)."""

import json
import os
import sys

import boto3

group, version, environment = sys.argv[1], int(sys.argv[2]), sys.argv[3]
session = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
endpoint = os.environ["MOTO_URL"]
sagemaker = session.client("sagemaker", endpoint_url=endpoint)
ssm = session.client("ssm", endpoint_url=endpoint)

group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=group)[
    "ModelPackageGroupArn"
]
package_arn = group_arn.replace(":model-package-group/", ":model-package/") + f"/{version}"
package = sagemaker.describe_model_package(ModelPackageName=package_arn)
parameter = ssm.get_parameter(Name=f"/countersign/{group}/{environment}")["Parameter"]
print(
    json.dumps(
        {
            "ModelApprovalStatus": package["ModelApprovalStatus"],
            "ApprovalDescription": package.get("ApprovalDescription"),
            "CustomerMetadataProperties": package.get("CustomerMetadataProperties", {}),
            "parameter": json.loads(parameter["Value"]),
        }
    )
)
