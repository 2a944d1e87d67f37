"""A generated IaC sample for checkov (Terraform, ARM, CloudFormation, Kubernetes, a Dockerfile, and files checkov
cannot parse), large enough to need more than the old address-space bound. Shared by
tests/core/scanners/test_checkov_completeness.py and benchmarks/checkov_completeness.py."""

import json
from pathlib import Path

GROUPS = 30  # Terraform, ARM, CloudFormation and Kubernetes files: 120, with ~5,800 failed checks
MARKER = "Planted-Content-" + "4e1d9a"  # in the broken files: must never reach a finding


def terraform(i: int) -> str:
    return "".join(
        f'resource "azurerm_storage_account" "sa{i}_{j}" {{\n'
        f'  name                     = "sa{i}x{j}"\n'
        '  resource_group_name      = "rg"\n'
        '  location                 = "westeurope"\n'
        '  account_tier             = "Standard"\n'
        '  account_replication_type = "LRS"\n'
        '  min_tls_version          = "TLS1_0"\n'
        "}\n"
        f'resource "aws_s3_bucket" "b{i}_{j}" {{\n  bucket = "bucket-{i}-{j}"\n  acl    = "public-read"\n}}\n'
        f'resource "aws_security_group" "sg{i}_{j}" {{\n'
        f'  name = "sg{i}{j}"\n'
        '  ingress {\n    from_port   = 22\n    to_port     = 22\n    protocol    = "tcp"\n'
        '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n'
        for j in range(5)
    )


def arm(i: int) -> str:
    account = {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2021-01-01",
        "location": "westeurope",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "properties": {
            "supportsHttpsTrafficOnly": False,
            "minimumTlsVersion": "TLS1_0",
            "allowBlobPublicAccess": True,
        },
    }
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [{**account, "name": f"sa{i}{j}"} for j in range(5)],
    }
    return json.dumps(template, indent=1)


def cloudformation(i: int) -> str:
    return 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n' + "".join(
        f"  Bucket{j}:\n    Type: AWS::S3::Bucket\n    Properties:\n      AccessControl: PublicRead\n"
        f"  Queue{j}:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub q{i}{j}\n"
        for j in range(5)
    )


def kubernetes(i: int) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: app{i}\n  namespace: ns\nspec:\n  selector:\n    matchLabels: {{app: a{i}}}\n"
        f"  template:\n    metadata:\n      labels: {{app: a{i}}}\n    spec:\n      containers:\n"
        "        - name: c\n          image: nginx:latest\n          securityContext:\n            privileged: true\n"
    )


BROKEN = {
    # checkov lists these as parsing errors.
    "broken/main.tf": f'resource "azurerm_storage_account" "broken" {{\n  name = "{MARKER}"\n  tags = {{\n',
    "broken/stack.yaml": (
        f'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  B:\n    Type: AWS::S3::Bucket\n'
        f"    Properties: [{MARKER}\n"
    ),
    "broken/unterminated.json": (
        '{\n "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
        ' "contentVersion": "1.0.0.0",\n'
        f' "resources": [ {{ "type": "Microsoft.Storage/storageAccounts", "name": "{MARKER}"\n'
    ),
    # checkov skips these without a word: a Kubernetes file that is not YAML, an ARM template with a trailing
    # comma (read as YAML, where it is valid, then found to hold no resource). We report them all the same.
    "broken/template.json": (
        '{\n "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
        f' "resources": [ {{ "type": "Microsoft.Storage/storageAccounts", "name": "{MARKER}", }} ]\n}}\n'
    ),
    "broken/pod.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n  containers:\n"
        f"    - name: c\n      image: [{MARKER}\n"
    ),
}

SKIPPED = {"broken/template.json", "broken/pod.yaml"}


def write_sample(root: Path, groups: int = GROUPS) -> None:
    for i in range(groups):
        for path, text in (
            (f"tf{i // 10}/main{i}.tf", terraform(i)),
            (f"arm/t{i}.json", arm(i)),
            (f"cfn/s{i}.yaml", cloudformation(i)),
            (f"k8s/d{i}.yaml", kubernetes(i)),
        ):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
    (root / "Dockerfile").write_text("FROM python:latest\nRUN pip install flask\n")
    for path, text in BROKEN.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
