"""Source kinds beyond RSS/Atom, driven from the real samples in ../shared/data/official,
served on loopback and read by the real HttpFeedReader through a whole poll cycle.

Each kind: the first poll records a baseline (no alerts), a later poll with one added
entry yields exactly one item, the classifier puts it in its topic, and the alert says
the source is official and names the parties. Additions we make to a real sample
(one designation, one rule, one list entry) are our own wording, written here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from vigil.adapters.config.sources import load_sources
from vigil.adapters.config.topics import load_topics
from vigil.adapters.feeds.reader import HttpFeedReader
from vigil.adapters.http.fetch import ALLOW_PRIVATE_ENV, Fetcher, FetchOptions
from vigil.adapters.state.memory import MemoryKV
from vigil.domain.models import Alert, Item, Source, SourceState
from vigil.entrypoints.cli import main
from vigil.ports import FeedOutcome
from vigil.render.slack import render_alert, render_reply
from vigil.services.cycle import CycleOptions, CycleReport, run_cycle
from vigil.services.store import Store

from tests.loopback import serve_bodies
from tests.unit.test_pipeline import FakeReader, ListSink

# The stores expire records by the real clock: the cycle's time must be near it.
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
TOPICS = load_topics()


@pytest.fixture
def official(shared_data: Path) -> Path:
    return shared_data / "official"


@dataclass
class Poller:
    """One source on a loopback server whose body the test changes between polls."""

    source: Source
    bodies: dict[str, bytes]
    store: Store = field(default_factory=lambda: Store(MemoryKV()))
    polls: int = 0

    def poll(self, body: bytes | None = None) -> tuple[list[Alert], CycleReport]:
        if body is not None:
            self.bodies[self.path] = body
        reader = HttpFeedReader(Fetcher(FetchOptions(allow_private=True, retries=0)), parse_workers=1)
        sink = ListSink(self.store)
        now = NOW + timedelta(hours=self.polls)
        self.polls += 1
        try:
            report = run_cycle([self.source], TOPICS, self.store, reader, sink,
                               CycleOptions(force=True, extra_channels=("C1",)), now=now)
        finally:
            reader.close()
        return sink.alerts, report

    @property
    def path(self) -> str:
        return "/" + self.source.url.split("/", 3)[3]


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    bodies: dict[str, bytes] = {}
    with serve_bodies(bodies, content_type="application/octet-stream") as base:
        yield base, bodies


def poller(server: tuple[str, dict[str, bytes]], kind: str, path: str, **extra: str) -> Poller:
    base, bodies = server
    name = {"ofac": "OFAC Consolidated List", "ofac_delta": "OFAC SDN List changes",
            "uk_sanctions": "UK Sanctions List",
            "eu_sanctions": "EU Financial Sanctions List", "federal_register": "Federal Register: BIS",
            "page_list": "Taiwan MND PLA activities"}[kind]
    return Poller(Source(id=kind.replace("_", "-"), url=f"{base}{path}", name=name, kind=kind,
                         provenance="official", **extra), bodies)


def only(alerts: list[Alert]) -> Alert:
    assert len(alerts) == 1, [a.item.title for a in alerts]
    return alerts[0]


# ---------------------------------------------------------------- OFAC


def _sdn_entry(xml: str, uid: str) -> str:
    found = re.search(rf"<sdnEntry>\s*<uid>{uid}</uid>.*?</sdnEntry>", xml, re.DOTALL)
    assert found, uid
    return found.group(0)


def test_ofac_first_poll_is_a_baseline_and_one_added_entry_is_one_official_sanctions_alert(
    server: tuple[str, dict[str, bytes]], official: Path,
) -> None:
    before = (official / "ofac-consolidated-legacy-xml-2022-02-22-BEFORE-TRUNCATED.xml").read_text("utf-8")
    after = (official / "ofac-consolidated-legacy-xml-2022-02-24-AFTER-TRUNCATED.xml").read_text("utf-8")
    ofac = poller(server, "ofac", "/consolidated.xml")

    alerts, report = ofac.poll(before.encode())
    assert alerts == [] and report.items_new == 0, "the first poll records the list without alerting"

    # One real addition (ALFA-BANK, uid 34682) inserted into the earlier publication.
    one_more = before.replace("</sdnList>", _sdn_entry(after, "34682") + "\n</sdnList>")
    alert = only(ofac.poll(one_more.encode())[0])
    assert alert.item.key == "ofac:34682"
    assert [m.topic for m in alert.matches] == ["sanctions"]
    text = json.dumps(render_alert(alert))
    assert "(official)" in text and "ALFA-BANK" in text and "RUSSIA-EO14024" in text
    assert "Russia" in alert.item.title
    assert ofac.poll(one_more.encode())[0] == [], "the same list again is nothing new"


def test_ofac_real_publication_pair_is_one_alert_naming_the_additions_not_the_changes(
    server: tuple[str, dict[str, bytes]], official: Path,
) -> None:
    ofac = poller(server, "ofac", "/consolidated.xml")
    ofac.poll((official / "ofac-consolidated-legacy-xml-2022-02-22-BEFORE-TRUNCATED.xml").read_bytes())
    alert = only(ofac.poll((official / "ofac-consolidated-legacy-xml-2022-02-24-AFTER-TRUNCATED.xml").read_bytes())[0])
    # 18 uids are new on 24 Feb; the 5 changed (reordered, renamed) entries are not.
    assert "18 parties" in alert.item.title
    assert "SOVCOMFLOT" in alert.item.summary and "VTB" not in alert.item.summary
    assert [m.topic for m in alert.matches] == ["sanctions"]


def test_ofac_sdn_csv_is_read_too(server: tuple[str, dict[str, bytes]], official: Path) -> None:
    rows = (official / "ofac-sdn-csv-2021-07-EXCERPT-TRUNCATED.csv").read_bytes()
    lines = rows.split(b"\r\n")
    ofac = poller(server, "ofac", "/sdn.csv")
    # The real file minus its last row, then the real file.
    ofac.poll(b"\r\n".join(lines[:-3] + lines[-2:]))
    alert = only(ofac.poll(rows)[0])
    assert alert.item.title.startswith("OFAC sanctions ")
    assert [m.topic for m in alert.matches] == ["sanctions"]


def test_the_ofac_item_joins_the_news_story_about_the_same_action_as_the_primary_source(
    server: tuple[str, dict[str, bytes]], official: Path,
) -> None:
    before = (official / "ofac-consolidated-legacy-xml-2022-02-22-BEFORE-TRUNCATED.xml").read_text("utf-8")
    after = (official / "ofac-consolidated-legacy-xml-2022-02-24-AFTER-TRUNCATED.xml").read_text("utf-8")
    ofac = poller(server, "ofac", "/consolidated.xml")
    ofac.poll(before.encode())
    news_source = Source("harbor", "https://harbor.example/feed", name="Harbor Ledger")
    ofac.store.put_source_state(SourceState("harbor", first_polled=NOW - timedelta(days=1)))
    # Our own wording: a newspaper reports the designation before the list is polled.
    news = Item(key="harbor:1", source_id="harbor", title="US Treasury sanctions Russia's Alfa-Bank",
                summary="OFAC designated Joint Stock Company Alfa-Bank under Russia sanctions program "
                        "RUSSIA-EO14024.", url="https://harbor.example/alfa", published=NOW,
                source_name="Harbor Ledger", provenance="independent")
    sink = ListSink(ofac.store)
    run_cycle([news_source], TOPICS, ofac.store, FakeReader({"harbor": FeedOutcome(items=[news], status=200)}),
              sink, CycleOptions(force=True, extra_channels=("C1",)), now=NOW + timedelta(minutes=30))
    assert [a.kind for a in sink.alerts] == ["new"]

    one_more = before.replace("</sdnList>", _sdn_entry(after, "34682") + "\n</sdnList>")
    reply = only(ofac.poll(one_more.encode())[0])
    assert reply.kind == "update" and reply.story.id == sink.alerts[0].story.id
    assert reply.story.official and reply.story.confirmations == 1
    text = json.dumps(render_reply(reply))
    assert "Primary source" in text and "(official)" in text and "ALFA-BANK" in text


# ---------------------------------------------------------------- OFAC delta file

# Written by us: no real delta file could be obtained. The layout is the one public
# parsers of `changes/latest` read (namespace, publicationInfo, entity id/action, names,
# programmes, features, addresses); every name and id is invented.
def _delta(published: datetime, *entities: tuple[str, str, str, str, str]) -> bytes:
    body = "".join(
        f'<entity id="{uid}" action="{action}"><generalInfo><identityId>{uid}1</identityId>'
        f'<entityType refId="601">Entity</entityType></generalInfo>'
        f"<sanctionsLists><sanctionsList>SDN List</sanctionsList></sanctionsLists>"
        f"<sanctionsPrograms><sanctionsProgram>{programme}</sanctionsProgram></sanctionsPrograms>"
        f"<names><name><isPrimary>false</isPrimary><aliasType>A.K.A.</aliasType><translations><translation>"
        f"<isPrimary>true</isPrimary><formattedFullName>{name} TRADING</formattedFullName></translation>"
        f"</translations></name><name><isPrimary>true</isPrimary><translations><translation>"
        f"<isPrimary>true</isPrimary><formattedFullName>{name}</formattedFullName></translation>"
        f"</translations></name></names>"
        f"<addresses><address><city>Harbin</city><country>{country}</country></address></addresses></entity>"
        for uid, action, name, programme, country in entities)
    return (f'<?xml version="1.0" encoding="utf-8"?><sanctionsData xmlns="https://www.treasury.gov/ofac/DeltaFile/1.0">'
            f"<publicationInfo><datePublished>{published.isoformat()}</datePublished>"
            f"<publicationType>Standard Action</publicationType></publicationInfo>"
            f"<entities>{body}</entities></sanctionsData>").encode()


def test_ofac_delta_old_publication_is_a_baseline_and_a_new_one_is_one_official_alert(
    server: tuple[str, dict[str, bytes]],
) -> None:
    delta = poller(server, "ofac_delta", "/changes/latest")
    old = _delta(NOW - timedelta(days=20), ("91001", "add", "NORTHERN LANTERN LLC", "SDGT", "Cyprus"))
    alerts, report = delta.poll(old)
    assert alerts == [] and report.items_fetched == 1, "a publication from before the first poll is backlog"

    new = _delta(NOW + timedelta(minutes=50),
                 ("91002", "add", "AMUR PRECISION MACHINERY CO., LTD.", "RUSSIA-EO14024", "China"),
                 ("91003", "add", "VOLGA OPTICS JOINT STOCK COMPANY", "RUSSIA-EO14024", "Russia"),
                 ("91001", "change", "NORTHERN LANTERN LLC", "SDGT", "Cyprus"),
                 ("90077", "remove", "OLD HARBOUR SHIPPING", "IRAN", "Iran"))
    alert = only(delta.poll(new)[0])
    assert alert.item.title == ("OFAC sanctions 2 parties: AMUR PRECISION MACHINERY (China), "
                                "VOLGA OPTICS (Russia)"), "additions only, primary names, legal forms dropped"
    assert alert.item.url.startswith(f"https://ofac.treasury.gov/recent-actions/{NOW + timedelta(minutes=50):%Y%m%d}#")
    assert alert.item.published == NOW + timedelta(minutes=50)
    assert "RUSSIA-EO14024" in alert.item.summary and "Russia and China-related" in alert.item.summary
    assert [m.topic for m in alert.matches] == ["sanctions"]
    assert "(official)" in json.dumps(render_alert(alert))
    assert delta.poll(new)[0] == [], "the same publication again is nothing new"


@pytest.mark.parametrize(("body", "reason"), [
    (b'<?xml version="1.0"?><sdnList><publshInformation/></sdnList>', "expected an OFAC delta <sanctionsData>"),
    # A layout other than the one Vigil reads (the action as a child): an error, not silence.
    (b'<sanctionsData><entities><entity id="1"><action>add</action></entity></entities></sanctionsData>',
     "no action attribute"),
])
def test_ofac_delta_that_is_not_one_is_a_clear_source_error(
    server: tuple[str, dict[str, bytes]], body: bytes, reason: str,
) -> None:
    delta = poller(server, "ofac_delta", "/changes/latest")
    alerts, report = delta.poll(body)
    assert alerts == [] and report.sources_failed == 1
    assert reason in report.failures[0][1]


# ---------------------------------------------------------------- UK and EU lists

# Our own designation in the real file's shape (no real Russia entry exists in the sample).
UK_ADDED = """  <Designation>
    <LastUpdated>03/10/2026</LastUpdated>
    <DateDesignated>03/10/2026</DateDesignated>
    <UniqueID>RUS9999</UniqueID>
    <Names><Name><Name6>NORTHERN ANCHOR SHIPPING LLC</Name6><NameType>Primary Name</NameType></Name></Names>
    <RegimeName>The Russia (Sanctions) (EU Exit) Regulations 2019</RegimeName>
    <IndividualEntityShip>Entity</IndividualEntityShip>
    <DesignationSource>UK</DesignationSource>
    <SanctionsImposed>Asset freeze</SanctionsImposed>
    <Addresses><Address><AddressCountry>Russia</AddressCountry></Address></Addresses>
  </Designation>
</Designations>"""


def test_uk_list_baseline_then_one_russia_designation(server: tuple[str, dict[str, bytes]], official: Path) -> None:
    real = (official / "uk-sanctions-list-xml-2026-09-02-two-designations-TRUNCATED.xml").read_text("utf-8")
    uk = poller(server, "uk_sanctions", "/UK-Sanctions-List.xml")
    assert uk.poll(real.encode())[0] == []
    alert = only(uk.poll(real.replace("</Designations>", UK_ADDED).encode())[0])
    assert [m.topic for m in alert.matches] == ["sanctions"]
    text = json.dumps(render_alert(alert))
    assert "NORTHERN ANCHOR SHIPPING LLC" in text and "(official)" in text and "Russia" in text


EU_ADDED = """    <sanctionEntity designationDetails="" unitedNationId="" logicalId="990001">
        <regulation regulationType="regulation" organisationType="council" publicationDate="2026-10-03"
            entryIntoForceDate="2026-10-03" numberTitle="2026/9999 (OJ L)" programme="RUS" logicalId="990002">
            <publicationUrl>https://eur-lex.europa.eu/eli/reg_impl/2026/9999/oj</publicationUrl>
        </regulation>
        <subjectType code="enterprise" classificationCode="E"/>
        <nameAlias wholeName="Volga Precision Optics JSC" strong="true" logicalId="990003"/>
        <address countryIso2Code="RU" countryDescription="RUSSIAN FEDERATION" logicalId="990004"/>
    </sanctionEntity>
</export>"""


def test_eu_list_baseline_then_one_russia_designation(server: tuple[str, dict[str, bytes]], official: Path) -> None:
    real = (official / "eu-fsf-xml-v1.1-2024-12-11-first-entity-TRUNCATED.xml").read_text("utf-8")
    eu = poller(server, "eu_sanctions", "/fsf.xml")
    assert eu.poll(real.encode())[0] == []
    alert = only(eu.poll(real.replace("</export>", EU_ADDED).encode())[0])
    assert [m.topic for m in alert.matches] == ["sanctions"]
    assert "Volga Precision Optics JSC" in json.dumps(render_alert(alert))


# ---------------------------------------------------------------- Federal Register

# Our own document, in the API's result shape.
FR_ADDED = {
    "title": "Additions to the Entity List", "type": "Rule", "document_number": "2026-21001",
    "abstract": "The Bureau of Industry and Security adds 12 entities in China and Russia to the Entity List "
                "for diverting US-origin electronics to Russia.",
    "publication_date": "2026-10-05",
    "html_url": "https://www.federalregister.gov/documents/2026/10/05/2026-21001/additions-to-the-entity-list",
    "agencies": [{"raw_name": "Bureau of Industry and Security", "name": "Industry and Security Bureau",
                  "id": 241, "slug": "industry-and-security-bureau"}],
}


def test_federal_register_query_baseline_then_one_new_rule(
    server: tuple[str, dict[str, bytes]], official: Path,
) -> None:
    real = json.loads((official / "fr-api-bis-results-2026-10-02-FIELDS-TRIMMED.json").read_text("utf-8"))
    fr = poller(server, "federal_register", "/api/v1/documents.json")
    envelope = {"description": "test", "count": len(real), "results": real}
    alerts, report = fr.poll(json.dumps(envelope).encode())
    assert alerts == [] and report.items_fetched == len(real), "documents older than the grace are backlog"
    envelope = {**envelope, "count": len(real) + 1, "results": [FR_ADDED, *real]}
    alert = only(fr.poll(json.dumps(envelope).encode())[0])
    assert alert.item.title == "Additions to the Entity List"
    assert [m.topic for m in alert.matches] == ["sanctions"]
    assert "(official)" in json.dumps(render_alert(alert))


def test_federal_register_empty_search_has_no_results_key(server: tuple[str, dict[str, bytes]]) -> None:
    fr = poller(server, "federal_register", "/api/v1/documents.json")
    alerts, report = fr.poll(b'{"description": "nothing", "count": 0}')
    assert alerts == [] and report.sources_ok == 1


# ---------------------------------------------------------------- pages

MND_MATCH = r"^/en/News/PLAAct/\d+$"


def _mnd_without_newest(page: str) -> str:
    newest = re.search(r'\s*<a href="/en/News/PLAAct/87739" class="news_list">.*?</a>', page, re.DOTALL)
    assert newest
    return page.replace(newest.group(0), "", 1)


def test_mnd_page_baseline_then_one_new_daily_report_in_taiwan(
    server: tuple[str, dict[str, bytes]], official: Path,
) -> None:
    page = (official / "mnd-tw-en-plaactlist-page1-2026-09-11-TRUNCATED.html").read_text("utf-8")
    mnd = poller(server, "page_list", "/en/news/plaactlist", match=MND_MATCH)
    alerts, report = mnd.poll(_mnd_without_newest(page).encode())
    assert alerts == [] and report.items_fetched == 8
    alert = only(mnd.poll(page.encode())[0])
    assert alert.item.url.endswith("/en/News/PLAAct/87739")
    assert [m.topic for m in alert.matches] == ["taiwan"]
    assert "(official)" in json.dumps(render_alert(alert))


def test_page_source_is_not_fetched_when_robots_txt_disallows_it(
    server: tuple[str, dict[str, bytes]], official: Path,
) -> None:
    page = (official / "mnd-tw-en-plaactlist-page1-2026-09-11-TRUNCATED.html").read_bytes()
    # Like MND's reportedly: one search crawler allowed, everyone else not.
    server[1]["/robots.txt"] = b"User-agent: Googlebot\nAllow: /\n\nUser-agent: *\nDisallow: /\n"
    mnd = poller(server, "page_list", "/en/news/plaactlist", match=MND_MATCH)
    alerts, report = mnd.poll(page)
    assert alerts == [] and report.sources_failed == 1
    assert "robots.txt" in report.failures[0][1]


# ---------------------------------------------------------------- vigil sources check


def test_sources_check_shows_kind_provenance_and_what_each_found(
    server: tuple[str, dict[str, bytes]], official: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    monkeypatch.chdir(tmp_path)  # away from any local .vigil/state.db
    base, bodies = server
    bodies["/sdn.xml"] = (official / "ofac-consolidated-legacy-xml-2022-02-24-AFTER-TRUNCATED.xml").read_bytes()
    bodies["/fr.json"] = (official / "fr-api-documents-search-newest-2024-12-31-per_page2.json").read_bytes()
    path = tmp_path / "sources.toml"
    path.write_text(f'[[sources]]\nid = "ofac"\nkind = "ofac"\nurl = "{base}/sdn.xml"\n\n'
                    f'[[sources]]\nid = "fr"\nkind = "federal_register"\nurl = "{base}/fr.json"\n', encoding="utf-8")

    assert main(["sources", "check", "--sources", str(path)]) == 0

    rows = {line.split()[0]: line.split(None, 6) for line in capsys.readouterr().out.splitlines()[1:-1]}
    assert rows["ofac"][:5] == ["ofac", "ofac", "official", "200", "25"]
    assert rows["fr"][:5] == ["fr", "federal_register", "official", "200", "2"]
    assert rows["fr"][6].startswith("newest: Combined Notice of Filings")


# Written for this test (our wording, the shape of an index of dated action pages): the
# shipped OFAC Recent Actions source picks its entries by its own `match`.
def _recent_actions(entries: list[tuple[str, str]]) -> bytes:
    links = "".join(f'<li><a href="/recent-actions/{day}">{title}</a></li>' for day, title in entries)
    return (f'<html><body><nav><a href="/recent-actions">Recent Actions</a><a href="/faqs">FAQs</a></nav>'
            f"<ul>{links}</ul></body></html>").encode()


def test_shipped_ofac_recent_actions_source_alerts_once_per_new_action(
    server: tuple[str, dict[str, bytes]],
) -> None:
    shipped = next(s for s in load_sources() if s.id == "ofac-recent-actions")
    older = [("20261118", "Counter Terrorism Designations; Iran-related Designation Removal"),
             ("20261117", "Publication of Amended Cyber-related General License")]
    base, bodies = server
    actions = Poller(dataclasses.replace(shipped, url=f"{base}/recent-actions"), bodies)
    alerts, report = actions.poll(_recent_actions(older))
    assert alerts == [] and report.items_fetched == 2, "the navigation links are not entries"
    newest = ("20261120", "Russia-related Designations; Issuance of Russia-related General License")
    alert = only(actions.poll(_recent_actions([newest, *older]))[0])
    assert alert.item.url.endswith("/recent-actions/20261120")
    assert [m.topic for m in alert.matches] == ["sanctions"]
    assert "(official)" in json.dumps(render_alert(alert))


def test_review_ofac_delta_second_publication_of_one_day_is_not_dropped_as_a_copy(
    server: tuple[str, dict[str, bytes]],
) -> None:
    # OFAC often publishes twice a day (e.g. a morning and an afternoon action); both
    # delta items link to /recent-actions/YYYYMMDD, so the URL alias marks the second a copy.
    delta = poller(server, "ofac_delta", "/changes/latest")
    delta.poll(_delta(NOW - timedelta(days=20), ("91001", "add", "NORTHERN LANTERN LLC", "SDGT", "Cyprus")))
    morning = _delta(NOW + timedelta(minutes=50),
                     ("91002", "add", "AMUR PRECISION MACHINERY CO., LTD.", "RUSSIA-EO14024", "China"))
    afternoon = _delta(NOW + timedelta(minutes=170),
                       ("91005", "add", "KUNLUN DRONE WORKS CO., LTD.", "RUSSIA-EO14024", "China"))
    assert len(delta.poll(morning)[0]) == 1
    assert len(delta.poll(afternoon)[0]) == 1, "the day's second publication was dropped as a copy"
