"""Deploys deploy/countersign-table.yaml to a moto server as an operator would with
CloudFormation, creates an IAM user for the portal with only the stack's table policy (and
SageMaker and SSM), and prints the table's name, the user's access key id and its secret on
one line.

moto checks credentials only after its first INITIAL_NO_AUTH_ACTION_COUNT requests, which
are the eight below."""

import json
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

iam = session.client("iam", endpoint_url=endpoint)
iam.create_user(UserName="portal")
registry_and_parameters = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sagemaker:*", "ssm:*"], "Resource": "*"}],
}
iam.put_user_policy(
    UserName="portal",
    PolicyName="registry-and-parameters",
    PolicyDocument=json.dumps(registry_and_parameters),
)
# moto checks a policy's actions but matches its resources only against "*": the stack's
# policy, with its resources widened to "*", proves the actions it allows are enough and
# that what it leaves out is refused. The resources are checked here: the table and its
# indexes, nothing else.
arn = outputs["PortalPolicyArn"]
version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
for statement in document["Statement"]:
    table = outputs["TableArn"]
    if statement["Resource"] != [table, f"{table}/index/*"]:
        sys.exit(f"the portal's table policy reaches beyond its table: {statement}")
    statement["Resource"] = "*"
# AWS authorises a transaction's writes as the PutItem and UpdateItem they are; moto asks for
# an action of the transaction's own name, which AWS does not have.
document["Statement"].append(
    {"Effect": "Allow", "Action": "dynamodb:TransactWriteItems", "Resource": "*"}
)
iam.put_user_policy(
    UserName="portal", PolicyName="countersign-table", PolicyDocument=json.dumps(document)
)
key = iam.create_access_key(UserName="portal")["AccessKey"]
print(outputs["TableName"], key["AccessKeyId"], key["SecretAccessKey"])
