"""Creates an IAM user in a moto server that enforces IAM, allowed everything but the actions
named on the command line, and prints its access key id and secret on one line.

moto checks credentials only after its first INITIAL_NO_AUTH_ACTION_COUNT requests, which
are the three below."""

import json
import sys

import boto3

endpoint, denied = sys.argv[1], sys.argv[2:]
iam = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
).client("iam", endpoint_url=endpoint)
iam.create_user(UserName="portal")
policy = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": denied, "Resource": "*"},
    ],
}
iam.put_user_policy(UserName="portal", PolicyName="portal", PolicyDocument=json.dumps(policy))
key = iam.create_access_key(UserName="portal")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
