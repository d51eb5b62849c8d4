"""Creates the portal's table to a moto server as the README's AWS CLI steps do (create-table
with its two indexes, KMS encryption and deletion protection; TTL; point-in-time recovery)
and prints its name. moto's CloudFormation leaves out the template's encryption, TTL and
point-in-time recovery, so `countersign iq` is tested against this table."""

import sys

import boto3

endpoint, name = sys.argv[1], sys.argv[2]
dynamodb = boto3.client(
    "dynamodb",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
index = lambda index, hash_key, range_key: {  # noqa: E731
    "IndexName": index,
    "KeySchema": [
        {"AttributeName": hash_key, "KeyType": "HASH"},
        {"AttributeName": range_key, "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}
dynamodb.create_table(
    TableName=name,
    BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[
        {"AttributeName": attribute, "AttributeType": kind}
        for attribute, kind in [
            ("pk", "S"), ("sk", "S"), ("pending", "S"), ("due", "N"), ("feed", "S"), ("changed", "S"),
        ]
    ],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    GlobalSecondaryIndexes=[index("pending", "pending", "due"), index("changes", "feed", "changed")],
    SSESpecification={"Enabled": True, "SSEType": "KMS"},
    DeletionProtectionEnabled=True,
)
dynamodb.get_waiter("table_exists").wait(TableName=name)
dynamodb.update_time_to_live(
    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
)
dynamodb.update_continuous_backups(
    TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
)
print(name)
