"""The alert sink of a single machine: deliver now, keep what Slack could not take.

On AWS the SQS queue gives retries and a DLQ; here the store keeps failed alerts and
the next `vigil run` delivers them first, so a Slack outage loses nothing.
"""

from __future__ import annotations

import logging

from vigil.domain.codec import alert_from_dict, alert_to_dict
from vigil.domain.models import Alert
from vigil.services.delivery import Deliverer, RetryableDeliveryError
from vigil.services.store import Store

log = logging.getLogger("vigil.services.local_delivery")


class InProcessSink:
    def __init__(self, store: Store, deliverer: Deliverer) -> None:
        self.store = store
        self.deliverer = deliverer
        self.outcomes: dict[str, int] = {}

    def send(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self._deliver(alert, retry_key=None)

    def retry_pending(self) -> int:
        """Deliver alerts left over from earlier runs; returns how many are still pending."""
        pending = 0
        for sk, record in self.store.pending_retries():
            if not self._deliver(alert_from_dict(record), retry_key=sk):
                pending += 1
        return pending

    def _deliver(self, alert: Alert, retry_key: str | None) -> bool:
        try:
            outcome = self.deliverer.deliver(alert)
        except RetryableDeliveryError as exc:
            log.warning("delivery deferred: story=%s channel=%s: %s", alert.story.id, alert.channel, exc)
            if retry_key is None:
                self.store.queue_retry(alert.channel, alert.story.id, alert_to_dict(alert))
            self._count("deferred")
            return False
        if retry_key is not None:
            self.store.drop_retry(retry_key)
        self._count(outcome)
        return True

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
