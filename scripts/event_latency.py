"""Event-to-e-mail latency: registers versions straight in SageMaker (moto), posts each one's
EventBridge event to the portal, and times until maildev holds the approval request.
Prints p50, p99 and max. A benchmark: it reports figures and fails on nothing but errors."""

import json
import sys
import time
import urllib.request

import boto3

portal, moto, maildev, api_key, count = sys.argv[1:6]
count = int(count)
sagemaker = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
).client("sagemaker", endpoint_url=moto)
group = "latency"
sagemaker.create_model_package_group(ModelPackageGroupName=group)


def mail_subjects():
    # A page of summaries, not every message whole: the poll should not load maildev, which
    # shares the two cores with the portal and moto.
    with urllib.request.urlopen(f"{maildev}/api/email/summary?limit=10") as response:
        return {m["subject"] for m in json.load(response)["items"]}


def clear_mail():
    request = urllib.request.Request(f"{maildev}/api/email/all", method="DELETE")
    urllib.request.urlopen(request).close()


def post_event(version):
    event = {
        "version": "0", "id": f"latency-{version}", "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change", "account": "123456789012",
        "time": "2026-11-26T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"ModelPackageGroupName": group, "ModelPackageVersion": version,
                   "ModelApprovalStatus": "PendingManualApproval"},
    }
    request = urllib.request.Request(
        f"{portal}/api/v1/events/sagemaker", data=json.dumps(event).encode(),
        headers={"content-type": "application/json", "x-api-key": api_key}, method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 202, response.status


latencies, answers = [], []
# One event first, not counted: it opens the SMTP connection and the first requests to moto,
# which a portal pays once after it starts, not per event.
for measured in [False] + [True] * count:
    clear_mail()
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={"Containers": [{"Image": "img:1"}],
                                "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]
    version = int(arn.rsplit("/", 1)[1])
    subject = f"[Countersign] {group} version {version} awaits approval for dev"
    start = time.perf_counter()
    post_event(version)
    answered = (time.perf_counter() - start) * 1000
    while subject not in mail_subjects():
        if time.perf_counter() - start > 30:
            sys.exit(f"no e-mail for version {version} after 30 s")
        time.sleep(0.002)
    if measured:
        answers.append(answered)
        latencies.append((time.perf_counter() - start) * 1000)

latencies.sort()
answers.sort()
pick = lambda figures, q: figures[min(len(figures) - 1, int(len(figures) * q))]
print(f"   event -> e-mail in maildev       p50 {pick(latencies, 0.5):6.1f} ms   p99 {pick(latencies, 0.99):6.1f} ms   "
      f"max {latencies[-1]:6.1f} ms   ({count} events after one not counted; goal p99 <= 300 ms: "
      f"{'met' if pick(latencies, 0.99) <= 300 else 'not met'})")
print(f"   of which the event's answer      p50 {pick(answers, 0.5):6.1f} ms   p99 {pick(answers, 0.99):6.1f} ms   "
      f"max {answers[-1]:6.1f} ms   (the version read and its request kept, on moto)")
