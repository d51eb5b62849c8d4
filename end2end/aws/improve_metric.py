"""Changes a metric of a model version in SageMaker after it was signed, as anyone allowed
sagemaker:UpdateModelPackage could (metrics live in its custom metadata as `metric:<name>`):
the end-to-end tests check the signature stops matching and the version stops resolving."""

import os
import sys

import boto3

group, version, metric, value = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
session = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
sagemaker = session.client("sagemaker", endpoint_url=os.environ["MOTO_URL"])
group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=group)[
    "ModelPackageGroupArn"
]
package_arn = group_arn.replace(":model-package-group/", ":model-package/") + f"/{version}"
metadata = sagemaker.describe_model_package(ModelPackageName=package_arn)[
    "CustomerMetadataProperties"
]
metadata[f"metric:{metric}"] = value
sagemaker.update_model_package(
    ModelPackageArn=package_arn, CustomerMetadataProperties=metadata
)
