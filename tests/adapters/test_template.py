"""template.yaml: SAM transform, cfn-lint, and the security findings a scanner would raise.

checkov is not a dev dependency: installing it into .venv downgrades boto3/botocore and
pulls in ~60 packages, so `make test` installs it into its own `.venv-scan` and names it
in the CHECKOV env var; `test_checkov_finds_nothing` runs it. `test_security_findings`
also checks the main rules itself (each named by the checkov id it stands for), so a
bare `pytest` without checkov still guards them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from tests.aws_stack import TEMPLATE, load_template

# cfn-lint warnings accepted, each with the reason (none today).
ACCEPTED_LINT_WARNINGS: dict[str, str] = {}
# Statements SAM policy templates must grant on "*": the API has no resource-level permission.
RESOURCE_WILDCARD_ACTIONS = {"ssm:DescribeParameters"}
ALLOWED_MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaSQSQueueExecutionRole",
}


class _NoIam:
    """ManagedPolicyLoader stand-in: SAM only asks for names we do not use."""

    def load(self) -> dict[str, str]:
        return {name: f"arn:aws:iam::aws:policy/{name}" for name in ALLOWED_MANAGED_POLICIES}


def sam_transform(text: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    template = yaml_parse(text)
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                # The translator wants S3 locations; `sam build` does this rewriting for real.
                props[key] = f"s3://bucket/{props[key]}"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, parameters or {}, _NoIam())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return sam_transform(TEMPLATE.read_text(encoding="utf-8"))


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_sam_transform_yields_the_expected_stack(transformed: dict[str, Any]) -> None:
    functions = resources_of(transformed, "AWS::Lambda::Function")
    assert set(functions) == {f"{n}Function" for n in ("Poll", "Fetch", "Notify", "Digest", "Slack", "SlackJobs")}
    for fn in functions.values():
        props = fn["Properties"]
        assert (props["Runtime"], props["Architectures"]) == ("python3.12", [{"Ref": "Architecture"}])
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert len(props["Layers"]) == 2
    mappings = resources_of(transformed, "AWS::Lambda::EventSourceMapping").values()
    assert all(m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)
    [api] = resources_of(transformed, "AWS::ApiGatewayV2::Api").values()
    routes = {f"{m.upper()} {path}" for path, ops in api["Properties"]["Body"]["paths"].items() for m in ops}
    assert routes == {"POST /slack/commands", "POST /slack/interactions"}
    assert len(resources_of(transformed, "AWS::Events::Rule")) == 2
    assert transformed["Parameters"]["Architecture"]["Default"] == "arm64"


# ---------------------------------------------------------------- sam local variant


LOCAL = {"PowertoolsFrom": "bundled", "Architecture": "x86_64"}


def local_variant() -> str:
    """template.yaml with the sam local choices as defaults (what --parameter-overrides sets)."""
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in LOCAL.items():
        text, n = re.subn(rf"(\n  {name}:\n(?:    .*\n)*?    Default: )\S+", rf"\g<1>{value}", text)
        assert n == 1, name
    return text


def test_the_sam_local_variant_bundles_powertools_for_x86(tmp_path: Any) -> None:
    variant = tmp_path / "template.yaml"
    variant.write_text(local_variant(), encoding="utf-8")
    from cfnlint.api import lint_file

    stack = sam_transform(variant.read_text(encoding="utf-8"), LOCAL)

    [layer] = [name for name, res in stack["Resources"].items()
               if res["Type"] == "AWS::Lambda::LayerVersion" and res.get("Condition") == "BundlePowertools"]
    for fn in resources_of(stack, "AWS::Lambda::Function").values():
        [vigil, powertools] = fn["Properties"]["Layers"]
        assert "VigilLayer" in json.dumps(vigil)
        condition, bundled, public = powertools["Fn::If"]
        assert (condition, bundled) == ("BundlePowertools", {"Ref": layer})
        assert "AWSLambdaPowertoolsPythonV3-python312-${Architecture}" in public["Fn::Sub"]
    assert [str(m) for m in lint_file(variant)] == []


def _pin(path: Any, package: str) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        name = re.match(r"\s*([A-Za-z0-9_.-]+)", line)
        if name and name.group(1).lower() == package:
            return line.split("#", 1)[0].strip()
    raise AssertionError(f"{package} is not in {path}")


def test_the_powertools_layer_and_the_package_pins_agree() -> None:
    import tomllib

    from packaging.requirements import Requirement

    from tests.aws_stack import ROOT

    template = load_template()
    layer = template["Metadata"]["Vigil"]["PowertoolsLayer"]
    release = str(layer["Package"])
    # The public layer version deployed is the one whose release the template names...
    assert template["Parameters"]["PowertoolsLayerVersion"]["Default"] == layer["Version"]
    # ...the bundled layer installs that release...
    bundled = Requirement(_pin(ROOT / "layers" / "powertools" / "requirements.txt", "aws-lambda-powertools"))
    assert bundled.specifier == f"=={release}" and "tracer" in bundled.extras
    # ...and the package range the code is developed and tested against includes it.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    [pin] = [Requirement(d) for d in project["dependencies"] if Requirement(d).name == "aws-lambda-powertools"]
    assert pin.specifier.contains(release), (str(pin), release)
    # The vigil layer leaves Powertools to the public or bundled layer.
    with pytest.raises(AssertionError):
        _pin(ROOT / "layers" / "vigil" / "requirements.txt", "aws-lambda-powertools")


# ---------------------------------------------------------------- events/env.json and outputs


def _function_variables() -> dict[str, set[str]]:
    template = load_template()
    shared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    return {name: shared | set(res["Properties"].get("Environment", {}).get("Variables", {}))
            for name, res in template["Resources"].items() if res["Type"] == "AWS::Serverless::Function"}


def test_env_json_sets_every_variable_each_function_reads() -> None:
    from tests.aws_stack import EVENTS

    env = json.loads((EVENTS / "env.json").read_text(encoding="utf-8"))
    for function, variables in _function_variables().items():
        given = set(env.get("Parameters", {})) | set(env.get(function, {}))
        assert variables <= given, (function, sorted(variables - given))


def test_every_value_env_json_asks_for_is_a_stack_output() -> None:
    from tests.aws_stack import EVENTS

    outputs = set(load_template()["Outputs"])
    env = json.loads((EVENTS / "env.json").read_text(encoding="utf-8"))
    wanted = [v for section in env.values() for v in section.values() if str(v).startswith("REPLACE")]
    assert wanted, "env.json names the outputs to fill in"
    for value in wanted:
        match = re.fullmatch(r"REPLACE with the (\w+) output", value)
        assert match and match.group(1) in outputs, value


@pytest.mark.parametrize("output", ["IdempotencyTableName", "SlackJobQueueUrl", "AlertDeadLetterQueueArn",
                                    "StateTableName", "SlackCommandsUrl", "SlackInteractionsUrl"])
def test_the_stack_outputs_what_setup_and_operations_need(output: str) -> None:
    assert output in load_template()["Outputs"]


def test_aws_setup_never_needs_a_value_from_a_later_step() -> None:
    from tests.aws_stack import ROOT

    deploy = (ROOT / "docs" / "AWS.md").read_text(encoding="utf-8").split("## Deploy", 1)[1].split("\n## ", 1)[0]
    # The stack first (its URLs exist only then), then the Slack app from the manifest
    # with those URLs (its token and secret exist only then), then the secrets.
    for app_step in ("SlackCommandsUrl", "manifest"):
        order = [deploy.find(step) for step in ("sam deploy", app_step, "put-parameter")]
        assert -1 not in order and order == sorted(order), (app_step, order)


def test_cfn_lint_reports_no_errors() -> None:
    from cfnlint.api import lint_file

    matches = lint_file(TEMPLATE)
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    warnings = [str(m) for m in matches if not m.rule.id.startswith("E") and m.rule.id not in ACCEPTED_LINT_WARNINGS]
    assert errors == []
    assert warnings == []


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        stmts = policy["PolicyDocument"]["Statement"]
        out += stmts if isinstance(stmts, list) else [stmts]
    return out


def test_iam_is_least_privilege(transformed: dict[str, Any]) -> None:
    for name, role in resources_of(transformed, "AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            policy = arn if isinstance(arn, str) else json.dumps(arn)
            assert any(policy.endswith(f"/{p}") or f"/{p}" in policy for p in ALLOWED_MANAGED_POLICIES), (name, arn)
        for stmt in _statements(role):
            actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), (name, actions)
            if stmt["Resource"] == "*":
                assert set(actions) <= RESOURCE_WILDCARD_ACTIONS, (name, actions)


def test_only_the_functions_that_talk_to_slack_can_read_its_secrets() -> None:
    resources = load_template()["Resources"]
    readers = {
        name for name, res in resources.items()
        if res["Type"] == "AWS::Serverless::Function"
        and any("SSMParameterReadPolicy" in p for p in res["Properties"]["Policies"])
    }
    assert readers == {"NotifyFunction", "DigestFunction", "SlackFunction"}


STORE_ITEM_ACTIONS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:UpdateItem",
                      "dynamodb:DeleteItem"}
READ_ACTIONS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
IDEMPOTENCY_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


def getatt(value: Any) -> tuple[str, str]:
    """A `!GetAtt X.Attr` or `Fn::GetAtt: [X, Attr]` as (X, Attr)."""
    target = value["Fn::GetAtt"]
    resource, attribute = target.split(".", 1) if isinstance(target, str) else target
    return resource, attribute


def table_actions(function: str) -> dict[str, set[str]]:
    """DynamoDB actions a function's policies grant, by the table they are granted on."""
    policies = load_template()["Resources"][function]["Properties"]["Policies"]
    assert not any("DynamoDBCrudPolicy" in p or "DynamoDBReadPolicy" in p for p in policies), function
    granted: dict[str, set[str]] = {}
    for policy in policies:
        for stmt in policy.get("Statement", []):
            actions = {a for a in stmt["Action"] if a.startswith("dynamodb:")}
            if actions:
                table, attribute = getatt(stmt["Resource"])
                assert attribute == "Arn", (function, stmt["Resource"])  # the table itself, no index or *
                granted.setdefault(table, set()).update(actions)
    return granted


@pytest.mark.parametrize(("function", "expected"), [
    ("PollFunction", {"StateTable": STORE_ITEM_ACTIONS, "IdempotencyTable": IDEMPOTENCY_ACTIONS}),
    ("FetchFunction", {"StateTable": STORE_ITEM_ACTIONS, "IdempotencyTable": IDEMPOTENCY_ACTIONS}),
    ("DigestFunction", {"StateTable": STORE_ITEM_ACTIONS, "IdempotencyTable": IDEMPOTENCY_ACTIONS}),
    # notify de-duplicates through the store's delivery claims, not Powertools idempotency
    ("NotifyFunction", {"StateTable": STORE_ITEM_ACTIONS}),
    # internet-facing: the store's item actions only, no Scan/PutItem/BatchWriteItem/DescribeTable
    ("SlackFunction", {"StateTable": STORE_ITEM_ACTIONS}),
    # deferred status/sources commands only read
    ("SlackJobsFunction", {"StateTable": READ_ACTIONS}),
])
def test_each_function_gets_only_the_table_actions_it_uses(function: str, expected: dict[str, set[str]]) -> None:
    assert table_actions(function) == expected


def test_the_dynamodb_store_calls_only_the_granted_actions() -> None:
    # The grants above are the API calls the DynamoDB adapter makes (transactions are UpdateItems).
    from pathlib import Path

    import vigil.adapters.state.dynamodb as adapter

    calls = set(re.findall(r"self\.client\.(\w+)\b", Path(adapter.__file__).read_text(encoding="utf-8")))
    assert calls == {"get_item", "batch_get_item", "update_item", "transact_write_items", "delete_item", "query"}


def test_slack_functions_split_http_and_jobs() -> None:
    resources = load_template()["Resources"]
    http_events = resources["SlackFunction"]["Properties"]["Events"]
    assert {e["Type"] for e in http_events.values()} == {"HttpApi"}
    [jobs] = resources["SlackJobsFunction"]["Properties"]["Events"].values()
    assert (jobs["Type"], getatt(jobs["Properties"]["Queue"])) == ("SQS", ("SlackJobQueue", "Arn"))
    assert jobs["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    senders = {name for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"
               and any("SQSSendMessagePolicy" in p and getatt(p["SQSSendMessagePolicy"]["QueueName"])[0]
                       == "SlackJobQueue" for p in res["Properties"]["Policies"])}
    assert senders == {"SlackFunction"}


def test_every_queue_with_a_consumer_has_a_dead_letter_queue_and_an_alarm_on_it() -> None:
    resources = load_template()["Resources"]
    for queue in ("FetchQueue", "AlertQueue", "SlackJobQueue"):
        redrive = resources[queue]["Properties"]["RedrivePolicy"]
        dlq, _ = getatt(redrive["deadLetterTargetArn"])
        assert 1 < redrive["maxReceiveCount"] <= 5, queue
        alarms = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"
                  and r["Properties"].get("Namespace") == "AWS/SQS"
                  and getatt(r["Properties"]["Dimensions"][0]["Value"]) == (dlq, "QueueName")]
        assert len(alarms) == 1, queue
        # SQS keeps a message's first enqueue time in the DLQ: it must keep messages longer.
        assert (resources[dlq]["Properties"]["MessageRetentionPeriod"]
                > resources[queue]["Properties"]["MessageRetentionPeriod"]), dlq


def test_alarms_watch_rejected_slack_requests_and_api_server_errors() -> None:
    alarms = [r["Properties"] for r in load_template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {(a.get("Namespace"), a.get("MetricName")) for a in alarms}
    assert ("Vigil", "SlackRequestsRejected") in watched
    [api] = [a for a in alarms if (a.get("Namespace"), a.get("MetricName")) == ("AWS/ApiGateway", "5xx")]
    assert api["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "SlackApi"}}]
    errors = next(a for a in alarms if "Metrics" in a)
    watched_functions = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
                         for m in errors["Metrics"] if "MetricStat" in m}
    functions = {n for n, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert watched_functions == functions


def _skips(res: dict[str, Any]) -> dict[str, str]:
    skips = res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    return {s["id"]: s.get("comment", "") for s in skips}


def test_security_findings() -> None:
    """The checkov rules that apply to this stack, checked directly; skips need a reason."""
    template = load_template()
    findings: list[str] = []
    for name, res in template["Resources"].items():
        props, skipped = res.get("Properties", {}), _skips(res)
        findings += [f"{name}: skip {i} has no reason" for i, why in skipped.items() if len(why) < 20]
        for check, ok in _checks(res["Type"], props, template):
            if not ok and check.split()[0] not in skipped:
                findings.append(f"{name}: {check}")
    assert findings == []


def _checks(kind: str, props: dict[str, Any], template: dict[str, Any]) -> list[tuple[str, bool]]:
    if kind == "AWS::DynamoDB::Table":
        return [
            ("CKV_AWS_28 point-in-time recovery",
             props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True),
            ("CKV_AWS_119 customer managed key", "KMSMasterKeyId" in props.get("SSESpecification", {})),
            ("encryption at rest", props.get("SSESpecification", {}).get("SSEEnabled") is True),
            ("ttl enabled", props.get("TimeToLiveSpecification", {}).get("Enabled") is True),
            ("on-demand", props.get("BillingMode") == "PAY_PER_REQUEST"),
        ]
    if kind == "AWS::SQS::Queue":
        return [
            ("CKV_AWS_27 kms encryption", "KmsMasterKeyId" in props),
            ("encryption at rest", props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props),
        ]
    if kind == "AWS::Serverless::Function":
        env = template["Globals"]["Function"]["Environment"]["Variables"] | props.get("Environment", {}).get(
            "Variables", {})
        return [
            ("CKV_AWS_115 reserved concurrency", "ReservedConcurrentExecutions" in props),
            ("CKV_AWS_116 dead-letter queue", "DeadLetterQueue" in props),
            ("CKV_AWS_117 inside a VPC", "VpcConfig" in props),
            ("CKV_AWS_173 env encrypted with KMS", "KmsKeyArn" in props),
            ("CKV_AWS_45 no secrets in env", not any(_looks_secret(k, v) for k, v in env.items())),
            ("own log group", "LogGroup" in props.get("LoggingConfig", {})),
            ("least privilege policies", all(isinstance(p, dict) for p in props.get("Policies", []))),
        ]
    if kind == "AWS::Logs::LogGroup":
        return [
            ("CKV_AWS_66 retention", "RetentionInDays" in props),
            ("CKV_AWS_158 kms encryption", "KmsKeyId" in props),
            ("CKV_AWS_338 retention of a year", False),
        ]
    if kind == "AWS::Serverless::HttpApi":
        return [
            ("CKV_AWS_76 access logging", "AccessLogSettings" in props),
            ("throttling", "ThrottlingRateLimit" in props.get("DefaultRouteSettings", {})),
        ]
    return []


def _looks_secret(key: str, value: Any) -> bool:
    text = str(value)
    named_secret = any(w in key.upper() for w in ("TOKEN", "SECRET", "PASSWORD")) and not key.endswith("_PARAM")
    return named_secret or text.startswith(("xoxb-", "xoxp-"))


def _checkov() -> str | None:
    return os.environ.get("CHECKOV") or shutil.which("checkov")


@pytest.mark.skipif(_checkov() is None,
                    reason="checkov not installed: `make test` installs it into .venv-scan (see module doc)")
def test_checkov_finds_nothing() -> None:
    proc = subprocess.run(
        [str(_checkov()), "-f", str(TEMPLATE), "--framework", "cloudformation", "--skip-download",
         "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=240, check=False,
    )
    report = json.loads(proc.stdout)
    failed = report.get("results", {}).get("failed_checks", [])
    assert [(f["check_id"], f["resource"]) for f in failed] == []
