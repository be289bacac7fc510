"""Every file in events/ through its handler, under moto (DynamoDB, SQS, SSM) and the fake Slack."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from vigil.adapters.slack.inbound import request_verifier
from vigil.domain.clock import now_utc
from vigil.domain.codec import alert_from_dict, outbox_ref_from_dict
from vigil.domain.models import Alert, ChannelSettings, Source, SourceState, Subscription
from vigil.entrypoints.events import TEST_SIGNING_SECRET, signed_headers
from vigil.services.fanout import encode_batch

from tests.aws_stack import EVENTS
from tests.fakeslack import server_error, slack_error
from tests.handlers.conftest import LambdaContext, Stack, load_event

CHANNEL = "C0TESTCHAN"
TOPICS = ("russia-china-military", "taiwan", "sanctions")
Load = Callable[[str], ModuleType]
# A request that records no metric (e.g. a Slack click) is normal; Powertools warns anyway.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def subscribe_all(stack: Stack, channel: str = CHANNEL) -> None:
    for topic in TOPICS:
        stack.store.put_subscription(Subscription(channel, topic, created_at=now_utc() - timedelta(days=30)))


def known_sources(stack: Stack, sources: list[Source]) -> None:
    """Mark sources as polled before, so their (old, fictional) items are not backlog."""
    for s in sources:
        stack.store.put_source_state(SourceState(s.id, first_polled=now_utc() - timedelta(days=1)))


def test_every_event_file_is_exercised() -> None:
    covered = {"poll-schedule.json", "fetch-batch.json", "notify-alerts.json", "digest-schedule.json",
               "slack-command.json", "slack-interaction.json", "slack-job.json", "env.json"}
    assert {p.name for p in EVENTS.glob("*.json")} == covered


# ---------------------------------------------------------------- poll and fetch


def queued_alert(stack: Stack, message: dict[str, Any]) -> Alert:
    """The alert an alert-queue message names (its outbox entry in the state table)."""
    entry = stack.store.outbox_entry(outbox_ref_from_dict(message))
    assert entry is not None
    return alert_from_dict(entry.alert)


def test_poll_records_items_and_queues_alerts(
    stack: Stack, handler: Load, context: LambdaContext, demo_sources: list[Source]
) -> None:
    app = handler("poll")
    app.SOURCES = demo_sources
    known_sources(stack, demo_sources)
    subscribe_all(stack)

    result = app.lambda_handler(load_event("poll-schedule.json"), context)

    cycle = result["cycle"]
    assert result["batches"] == 0
    assert cycle["sources_ok"] == len(demo_sources)
    assert cycle["items_new"] > 0
    alerts = [queued_alert(stack, m) for m in stack.messages(stack.alert_queue)]
    assert len(alerts) == cycle["alerts"] > 0
    assert {a.channel for a in alerts} == {CHANNEL}
    assert stack.store.unseen(a.item.key for a in alerts) == set()
    assert len(stack.store.cycles()) == 1


def test_repeated_schedule_event_runs_one_cycle(
    stack: Stack, handler: Load, context: LambdaContext, demo_sources: list[Source]
) -> None:
    app = handler("poll")
    app.SOURCES = demo_sources
    event = load_event("poll-schedule.json")
    first = app.lambda_handler(event, context)
    second = app.lambda_handler(event, context)
    assert first == second
    assert len(stack.store.cycles(limit=5)) == 1


def test_poll_fans_out_batches_when_sources_exceed_one_invocation(
    stack: Stack, handler: Load, context: LambdaContext, demo_sources: list[Source]
) -> None:
    app = handler("poll")
    app.SOURCES = demo_sources
    app.SETTINGS = dataclasses.replace(app.SETTINGS, sources_per_batch=4)

    result = app.lambda_handler(load_event("poll-schedule.json"), context)

    assert (result["due"], result["batches"]) == (len(demo_sources), 2)
    batches = stack.messages(stack.fetch_queue)
    assert sorted(len(b["sources"]) for b in batches) == [2, 4]
    assert stack.store.cycles() == []  # nothing fetched here: the fetch workers do it


def test_fetch_runs_the_cycle_on_its_batch(
    stack: Stack, handler: Load, context: LambdaContext, demo_sources: list[Source]
) -> None:
    app = handler("fetch")
    known_sources(stack, demo_sources)
    subscribe_all(stack)
    event = load_event("fetch-batch.json")
    event["Records"][0]["body"] = encode_batch(demo_sources[:3], now_utc())

    result = app.lambda_handler(event, context)

    assert result == {"batchItemFailures": []}
    assert {s.source_id for s in stack.store.source_states() if s.last_attempt} == {s.id for s in demo_sources[:3]}
    assert stack.messages(stack.alert_queue)


def test_fetch_reports_a_malformed_batch_and_processes_the_rest(
    stack: Stack, handler: Load, context: LambdaContext, demo_sources: list[Source]
) -> None:
    app = handler("fetch")
    event = load_event("fetch-batch.json")
    good = dict(event["Records"][0], body=encode_batch(demo_sources[:1], now_utc()))
    bad = dict(event["Records"][0], messageId="bad-1", body="not json")
    event["Records"] = [bad, good]

    result = app.lambda_handler(event, context)

    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert stack.store.get_source_state(demo_sources[0].id) is not None


# ---------------------------------------------------------------- notify


def test_notify_posts_each_alert_once(stack: Stack, handler: Load, context: LambdaContext, fake_slack: Any) -> None:
    app = handler("notify")
    app.deliverer().interval = 0  # no pacing wait between the two posts in this test
    event = load_event("notify-alerts.json")

    assert app.lambda_handler(event, context) == {"batchItemFailures": []}
    assert len(fake_slack.top_level(CHANNEL)) == 2
    assert fake_slack.calls[0].headers.get("authorization") == "Bearer xoxb-test-token"

    # SQS redelivers the same batch: nothing is posted twice.
    assert app.lambda_handler(event, context) == {"batchItemFailures": []}
    assert len(fake_slack.top_level(CHANNEL)) == 2
    assert stack.store.get_delivery("sample-story-1", CHANNEL).status == "sent"


def test_notify_reports_the_alert_slack_refused(
    stack: Stack, handler: Load, context: LambdaContext, fake_slack: Any
) -> None:
    app = handler("notify")
    app.deliverer().interval = 0  # no pacing wait between the two posts in this test
    fake_slack.script("chat.postMessage", slack_error("internal_error"))
    event = load_event("notify-alerts.json")

    result = app.lambda_handler(event, context)

    first_id = event["Records"][0]["messageId"]
    assert result == {"batchItemFailures": [{"itemIdentifier": first_id}]}
    assert len(fake_slack.top_level(CHANNEL)) == 1
    # The failed alert left no claim behind, so the SQS retry can post it.
    assert stack.store.get_delivery("sample-story-1", CHANNEL) is None


# ---------------------------------------------------------------- digest


def test_digest_posts_one_message_for_a_due_channel(
    stack: Stack, handler: Load, context: LambdaContext, fake_slack: Any
) -> None:
    app = handler("digest")
    stack.store.put_channel(ChannelSettings(CHANNEL, digest="hourly"))
    for record in load_event("notify-alerts.json")["Records"]:
        alert = alert_from_dict(json.loads(record["body"]))
        stack.store.queue_digest(CHANNEL, alert.story, alert.story.topics[0])

    result = app.lambda_handler(load_event("digest-schedule.json"), context)

    assert result.get("sent") == 1
    assert len(fake_slack.top_level(CHANNEL)) == 1
    assert stack.store.take_digest(CHANNEL) == []


# ---------------------------------------------------------------- slack


def at_event_time(app: ModuleType, event: dict[str, Any]) -> None:
    """Pin the verifier's clock to the event's signing time (the committed files are old)."""
    signed_at = int(event["headers"]["x-slack-request-timestamp"])
    app.deps().verify = request_verifier(TEST_SIGNING_SECRET, clock=lambda: signed_at + 5)


def test_slash_command_subscribes_the_channel(stack: Stack, handler: Load, context: LambdaContext) -> None:
    app = handler("slack")
    event = load_event("slack-command.json")
    at_event_time(app, event)

    result = app.lambda_handler(event, context)

    assert result["statusCode"] == 200
    assert [(s.channel, s.topic) for s in stack.store.subscriptions(CHANNEL)] == [(CHANNEL, "taiwan")]


def test_forged_slash_command_is_rejected_without_side_effects(
    stack: Stack, handler: Load, context: LambdaContext
) -> None:
    app = handler("slack")
    event = load_event("slack-command.json")
    at_event_time(app, event)
    event["headers"]["x-slack-signature"] = "v0=" + "0" * 64

    result = app.lambda_handler(event, context)

    assert result["statusCode"] == 401
    assert stack.store.subscriptions() == []


def test_stale_signed_command_is_rejected(stack: Stack, handler: Load, context: LambdaContext) -> None:
    app = handler("slack")
    result = app.lambda_handler(load_event("slack-command.json"), context)  # signed in 2023
    assert result["statusCode"] == 401
    assert stack.store.subscriptions() == []


def test_freshly_signed_plain_body_is_accepted(stack: Stack, handler: Load, context: LambdaContext) -> None:
    app = handler("slack")
    event = load_event("slack-command.json")
    body = base64.b64decode(event["body"]).decode()
    event.update(body=body, isBase64Encoded=False)
    event["headers"].update(signed_headers(TEST_SIGNING_SECRET, body))
    assert app.lambda_handler(event, context)["statusCode"] == 200


def test_button_click_records_feedback_and_defers_the_update(
    stack: Stack, handler: Load, context: LambdaContext
) -> None:
    app = handler("slack")
    event = load_event("slack-interaction.json")
    at_event_time(app, event)

    result = app.lambda_handler(event, context)

    assert result["statusCode"] == 200
    [feedback] = stack.store.feedback(CHANNEL)
    assert (feedback["verdict"], feedback["story_id"]) == ("relevant", "sample-story-1")
    [job] = stack.messages(stack.job_queue)
    assert job["kind"] == "respond"
    assert job["url"].startswith("https://hooks.slack.com/")


def test_deferred_command_answers_through_response_url(
    stack: Stack, handler: Load, context: LambdaContext, fake_slack: Any
) -> None:
    app = handler("slack_jobs")
    event = load_event("slack-job.json")
    job = json.loads(event["Records"][0]["body"])
    job["form"]["response_url"] = f"{fake_slack.base_url}/response/abc"
    event["Records"][0]["body"] = json.dumps(job)

    assert app.lambda_handler(event, context) == {"batchItemFailures": []}

    [reply] = fake_slack.calls_to("response_url:/response/abc")
    assert reply.body.get("text")


def test_the_job_worker_needs_no_signing_secret(
    stack: Stack, handler: Load, context: LambdaContext, fake_slack: Any
) -> None:
    # Given no signing secret to read (the jobs function has no SSM permission)
    import boto3

    boto3.client("ssm", region_name="us-east-1").delete_parameter(Name="/vigil/slack/signing-secret")
    app = handler("slack_jobs")
    event = load_event("slack-job.json")
    job = json.loads(event["Records"][0]["body"])
    job["form"]["response_url"] = f"{fake_slack.base_url}/response/no-secret"
    event["Records"][0]["body"] = json.dumps(job)
    # When it runs a deferred command
    assert app.lambda_handler(event, context) == {"batchItemFailures": []}
    # Then the reply still goes out
    assert len(fake_slack.calls_to("response_url:/response/no-secret")) == 1


def test_a_deferred_reply_slack_refuses_is_reported_for_retry(
    stack: Stack, handler: Load, context: LambdaContext, fake_slack: Any
) -> None:
    # Given a batch of two deferred replies, Slack's response_url failing for the second
    app = handler("slack_jobs")
    event = load_event("slack-job.json")
    good, bad = copy.deepcopy(event["Records"][0]), copy.deepcopy(event["Records"][0])
    for record, path in ((good, "/response/ok"), (bad, "/response/down")):
        job = json.loads(record["body"])
        job["form"]["response_url"] = f"{fake_slack.base_url}{path}"
        record["body"] = json.dumps(job)
    bad["messageId"] = "00000000-0000-4000-8000-vigi00000002"
    fake_slack.script("response_url:/response/down", *[server_error(500)] * 5)
    # When the job queue delivers the batch
    result = app.lambda_handler({**event, "Records": [good, bad]}, context)
    # Then only the failed reply goes back to the queue for another try
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert len(fake_slack.calls_to("response_url:/response/ok")) == 1


def test_slow_command_is_deferred_to_the_job_queue(stack: Stack, handler: Load, context: LambdaContext) -> None:
    app = handler("slack")
    event = load_event("slack-command.json")
    form = dict(parse_qsl(base64.b64decode(event["body"]).decode(), keep_blank_values=True))
    body = urlencode({**form, "text": "status"})
    event.update(body=body, isBase64Encoded=False)
    event["headers"].update(signed_headers(TEST_SIGNING_SECRET, body))

    result = app.lambda_handler(event, context)

    assert result["statusCode"] == 200
    [job] = stack.messages(stack.job_queue)
    assert (job["kind"], job["form"]["text"]) == ("command", "status")


# ---------------------------------------------------------------- configuration


def test_missing_setting_fails_the_cold_start(
    stack: Stack, handler: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil.runtime.settings import SettingsError

    monkeypatch.delenv("ALERT_QUEUE_URL")
    with pytest.raises(SettingsError, match="ALERT_QUEUE_URL is not set"):
        handler("poll")


def test_latency_is_measured_from_publication() -> None:
    from vigil.runtime.observability import metrics, record_latency

    published = datetime(2025, 3, 1, 7, 55, tzinfo=UTC)
    record_latency(published, now=published + timedelta(seconds=90))
    assert metrics.metric_set["DeliveryLatency"]["Value"] == [90.0]
    metrics.clear_metrics()


def test_every_metric_a_function_emits_is_a_listed_metric() -> None:
    # Each metric name is a billed CloudWatch custom metric (docs/AWS.md cost estimate).
    import re
    from pathlib import Path

    from vigil.runtime import observability

    root = Path(__file__).resolve().parents[2]
    sources = [*root.glob("functions/*/app.py"), Path(observability.__file__)]
    names = {m for p in sources for m in re.findall(r"""(?:count\(|name=)["'](\w+)["']""", p.read_text())}
    assert names and names <= set(observability.METRICS), names - set(observability.METRICS)


def test_sqs_partial_response_reports_failed_records_and_fails_when_all_do() -> None:
    # fetch's stand-in for Powertools' process_partial_response: the same contract.
    from vigil.runtime.lambdas import AllRecordsFailed, sqs_partial_response

    def handle(record: dict[str, Any]) -> None:
        if record["body"] == "bad":
            raise ValueError("bad record")

    event = {"Records": [{"messageId": "1", "body": "ok"}, {"messageId": "2", "body": "bad"}]}
    assert sqs_partial_response(event, handle) == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert sqs_partial_response({"Records": []}, handle) == {"batchItemFailures": []}
    with pytest.raises(AllRecordsFailed) as failed:
        sqs_partial_response({"Records": [{"messageId": "2", "body": "bad"}]}, handle)
    assert isinstance(failed.value.__cause__, ValueError)
