"""Deploys deploy/countersign-table.yaml to a moto server as an operator would with
CloudFormation, and prints the table's name once the stack is complete."""

import pathlib
import sys

import boto3

endpoint, template = sys.argv[1], pathlib.Path(sys.argv[2]).read_text()
session = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
cloudformation = session.client("cloudformation", endpoint_url=endpoint)
cloudformation.create_stack(
    StackName="countersign-table",
    TemplateBody=template,
    Parameters=[{"ParameterKey": "TableName", "ParameterValue": "countersign-from-iac"}],
    Capabilities=["CAPABILITY_IAM"],
)
stack = cloudformation.describe_stacks(StackName="countersign-table")["Stacks"][0]
if stack["StackStatus"] != "CREATE_COMPLETE":
    sys.exit(f"the stack is {stack['StackStatus']}: {stack.get('StackStatusReason')}")
outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
print(outputs["TableName"])
