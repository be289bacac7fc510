"""The store's records for whole-list sources and cross-source seen keys, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

from vigil.services.store import Store

from tests.adapters.test_store_contract import aws_env, store  # noqa: F401 - fixtures

NOW = datetime.now(UTC)


def test_a_list_snapshot_is_absent_before_the_first_poll_and_round_trips(store: Store) -> None:  # noqa: F811
    assert store.list_snapshot("ofac-sdn") is None
    # About the size of OFAC's SDN list today: one record must hold it.
    ids = {str(n) for n in range(10_000, 30_000)}
    store.put_list_snapshot("ofac-sdn", ids)
    assert store.list_snapshot("ofac-sdn") == ids
    store.put_list_snapshot("ofac-sdn", set())
    assert store.list_snapshot("ofac-sdn") == frozenset(), "an empty list is a baseline too, not 'never polled'"


def test_an_item_whose_url_key_is_taken_commits_nothing(store: Store) -> None:  # noqa: F811
    assert store.commit_item("wire:1", "wire", NOW, also_seen=["url:abc"]) == []
    assert store.commit_item("post:1", "post", NOW, also_seen=["url:abc"]) is None
    assert store.unseen(["post:1", "wire:1", "url:abc"]) == {"post:1"}, "the copy's own key is not marked"


def test_an_item_without_alerts_is_marked_with_its_url_key_in_plain_puts(store: Store) -> None:  # noqa: F811
    # Half the write units of a transaction; the same records.
    calls: list[str] = []
    transact, put = store.kv.transact, store.kv.put
    store.kv.transact = lambda writes: calls.append("transact") or transact(writes)  # type: ignore[method-assign]
    store.kv.put = lambda *a, **kw: calls.append("put") or put(*a, **kw)  # type: ignore[method-assign]
    assert store.commit_item("wire:2", "wire", NOW, also_seen=["url:def"]) == []
    assert calls == ["put", "put"]
    assert store.unseen(["wire:2", "url:def"]) == set()
    assert store.commit_item("wire:2", "wire", NOW, also_seen=["url:def"]) is None, "a second poller owns nothing"
