"""Story clustering: one story per event across outlets, kept apart across events.

Headlines here are written for these tests (never copied from real outlets).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from vigil.domain.codec import from_record, to_record
from vigil.domain.models import Item, Severity, Story
from vigil.domain.stories import StoryClusterer, item_terms, story_id_for, strip_outlet

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_keys = count()


def item(title: str, outlet: str = "wire", summary: str = "", published: datetime | None = None,
         key: str | None = None, lang: str = "en") -> Item:
    key = key or f"item-{next(_keys)}"
    return Item(key=key, source_id=outlet.lower().replace(" ", "-"), title=title, summary=summary,
                url=f"https://{outlet.lower().replace(' ', '')}.example/{key}", published=published,
                lang=lang, source_name=outlet)


def assign(clusterer: StoryClusterer, it: Item, now: datetime = NOW,
           topics: tuple[str, ...] = ("sanctions",), severity: Severity = Severity.ROUTINE,
           ) -> tuple[Story, bool]:
    return clusterer.assign(it, topics, severity, now)


ARMS_SALE_REPORTS = [
    item("China sanctions US defence firms over Taiwan arms sale", "Outlet A"),
    item("Beijing slaps sanctions on American defense contractors over Taiwan weapons deal - Outlet B",
         "Outlet B"),
    item("China hits US arms makers with penalties after Taiwan sale approval | OC", "Outlet C"),
]


# ---------------------------------------------------------------- same event / different events


def test_same_event_from_three_outlets_is_one_story() -> None:
    clusterer = StoryClusterer([])
    results = [assign(clusterer, it) for it in ARMS_SALE_REPORTS]

    assert [is_new for _, is_new in results] == [True, False, False]
    story = results[-1][0]
    assert {s.id for s, _ in results} == {story.id}
    assert story.sources == ("Outlet A", "Outlet B", "Outlet C")
    assert story.item_keys == tuple(it.key for it in ARMS_SALE_REPORTS)


def test_different_events_with_similar_words_stay_apart() -> None:
    clusterer = StoryClusterer([])
    first, _ = assign(clusterer, item("China sanctions US defence firms over Taiwan arms sale", "Outlet A"))
    second, is_new = assign(clusterer, item("US sanctions Chinese firms over Russia drone parts", "Outlet B"))

    assert is_new
    assert second.id != first.id


@pytest.mark.parametrize(("first", "second"), [
    ("Russian and Chinese warships start joint drills in the Sea of Japan",
     "China and Russia hold joint naval drills near Alaska"),
    ("Taiwan spots 45 Chinese military aircraft near the island",
     "Taiwan detects 30 Chinese aircraft and 7 ships near the island"),
    ("EU adopts 17th sanctions package against Russia", "EU agrees 16th round of sanctions on Russia"),
    ("State Department clears $1.1 billion arms package for Taiwan",
     "State Department clears $2.2 billion arms package for Taiwan"),
    ("Magnitude 6 earthquake shakes eastern Taiwan", "Taiwan holds large military drills as tensions grow"),
])
def test_look_alike_events_stay_apart(first: str, second: str) -> None:
    clusterer = StoryClusterer([])
    assign(clusterer, item(first, "Outlet A"))
    _, is_new = assign(clusterer, item(second, "Outlet B"))
    assert is_new


@pytest.mark.parametrize(("first", "second"), [
    ("Russian and Chinese warships start joint drills in the Sea of Japan",
     "Russia, China begin naval exercise in Sea of Japan"),
    ("Taiwan spots 45 Chinese military aircraft near the island",
     "Taiwan detects 45 PLA warplanes around the island"),
    ("EU adopts 17th sanctions package against Russia",
     "European Union approves 17th package of Russia sanctions"),
    ("Commerce Department adds 30 Chinese entities to export blacklist",
     "US adds 30 Chinese companies to Entity List - Wire"),
])
def test_differently_worded_reports_of_one_event_join(first: str, second: str) -> None:
    clusterer = StoryClusterer([])
    story, _ = assign(clusterer, item(first, "Outlet A"))
    joined, is_new = assign(clusterer, item(second, "Outlet B"))
    assert not is_new
    assert joined.id == story.id


def test_summary_key_terms_help_headlines_that_share_few_words() -> None:
    clusterer = StoryClusterer([])
    lead = "Officials said the Kestrel-9 drone used engines shipped from Xiamen to Izhevsk."
    story, _ = assign(clusterer, item("Moscow's new attack drone runs on Chinese engines", "Outlet A",
                                      summary=lead))
    joined, is_new = assign(clusterer, item("Engines inside Russian drones traced to China", "Outlet B",
                                            summary="The Kestrel-9 airframe carries units made in Xiamen, "
                                                    "assembled at an Izhevsk plant."))
    assert not is_new
    assert joined.id == story.id


def test_identical_wire_copy_joins_even_when_its_words_are_common() -> None:
    # Many stories share "China" and "Taiwan"; the exact copy must still be found.
    stories = StoryClusterer([])
    for n in range(300):
        assign(stories, item(f"China warns Taiwan over item {n}", f"Filler {n}"))
    story, _ = assign(stories, item("China warns Taiwan", "Outlet A"))
    joined, is_new = assign(stories, item("China warns Taiwan", "Outlet B"))
    assert not is_new
    assert joined.id == story.id


# ---------------------------------------------------------------- updates


def test_update_merges_topics_raises_severity_and_bumps_last_seen() -> None:
    clusterer = StoryClusterer([])
    a, b, _ = ARMS_SALE_REPORTS
    assign(clusterer, a, NOW, ("sanctions",), Severity.NOTABLE)
    later = NOW + timedelta(hours=3)
    story, _ = assign(clusterer, b, later, ("sanctions", "taiwan"), Severity.ROUTINE)

    assert story.topics == ("sanctions", "taiwan")
    assert story.severity is Severity.NOTABLE
    assert story.first_seen == NOW
    assert story.last_seen == later


def test_outlet_is_listed_once_however_many_items_it_sends() -> None:
    clusterer = StoryClusterer([])
    assign(clusterer, item("China sanctions US defence firms over Taiwan arms sale", "Outlet A"))
    assign(clusterer, item("China sanctions US defense firms over Taiwan arms sale, updated", "Outlet A"))
    story, _ = assign(clusterer, item("Beijing sanctions US defense firms over Taiwan arms deal", "Outlet B"))

    assert story.sources == ("Outlet A", "Outlet B")
    assert len(story.item_keys) == 3


def test_outlet_falls_back_to_source_id() -> None:
    clusterer = StoryClusterer([])
    it = dataclasses.replace(ARMS_SALE_REPORTS[0], source_name="")
    story, _ = assign(clusterer, it)
    assert story.sources == (it.source_id,)


def test_the_same_item_twice_changes_nothing() -> None:
    clusterer = StoryClusterer([])
    first, _ = assign(clusterer, ARMS_SALE_REPORTS[0])
    again, is_new = assign(clusterer, ARMS_SALE_REPORTS[0])
    assert not is_new
    assert again == first


def test_story_ids_are_deterministic_and_derived_from_the_first_item() -> None:
    one, _ = assign(StoryClusterer([]), ARMS_SALE_REPORTS[0])
    two, _ = assign(StoryClusterer([]), ARMS_SALE_REPORTS[0])
    other, _ = assign(StoryClusterer([]), ARMS_SALE_REPORTS[1])

    assert one.id == two.id == story_id_for(ARMS_SALE_REPORTS[0].key)
    assert other.id != one.id


def test_new_story_carries_title_url_and_terms() -> None:
    story, _ = assign(StoryClusterer([]), ARMS_SALE_REPORTS[0])
    assert story.title == ARMS_SALE_REPORTS[0].title
    assert story.url == ARMS_SALE_REPORTS[0].url
    assert story.terms and story.signature


# ---------------------------------------------------------------- window


def test_item_after_the_window_starts_a_new_story() -> None:
    clusterer = StoryClusterer([], window=timedelta(hours=48))
    old, _ = assign(clusterer, ARMS_SALE_REPORTS[0], NOW)
    story, is_new = assign(clusterer, ARMS_SALE_REPORTS[1], NOW + timedelta(hours=49))

    assert is_new
    assert story.id != old.id
    assert len(clusterer) == 1  # the expired story was dropped from the index


def test_item_inside_the_window_joins() -> None:
    clusterer = StoryClusterer([], window=timedelta(hours=48))
    old, _ = assign(clusterer, ARMS_SALE_REPORTS[0], NOW)
    story, is_new = assign(clusterer, ARMS_SALE_REPORTS[1], NOW + timedelta(hours=47))
    assert not is_new
    assert story.id == old.id


def test_stored_story_older_than_the_window_is_never_joined() -> None:
    old, _ = assign(StoryClusterer([]), ARMS_SALE_REPORTS[0], NOW - timedelta(days=3))
    clusterer = StoryClusterer([old], window=timedelta(hours=48))
    _, is_new = assign(clusterer, ARMS_SALE_REPORTS[1], NOW)
    assert is_new


def test_backlog_item_published_long_before_the_story_does_not_join() -> None:
    clusterer = StoryClusterer([])
    assign(clusterer, ARMS_SALE_REPORTS[0], NOW)
    stale = dataclasses.replace(ARMS_SALE_REPORTS[1], published=NOW - timedelta(days=5))
    _, is_new = assign(clusterer, stale, NOW)
    assert is_new


def test_reports_polled_days_after_publication_still_join_each_other() -> None:
    # Given two outlets' reports of one event, both published a week before Vigil polls
    # them (a backfill after an outage, or a frozen demo snapshot)
    clusterer = StoryClusterer([])
    week_ago = NOW - timedelta(days=7)
    first = dataclasses.replace(ARMS_SALE_REPORTS[0], published=week_ago)
    second = dataclasses.replace(ARMS_SALE_REPORTS[1], published=week_ago + timedelta(hours=2))
    # When both are assigned now
    story, _ = assign(clusterer, first, NOW)
    joined, is_new = assign(clusterer, second, NOW)
    # Then they are one story: publication times are compared, not polling time
    assert not is_new
    assert joined.id == story.id
    assert story.published == week_ago


# ---------------------------------------------------------------- rebuilt from the store


def _round_trip(stories: list[Story]) -> list[Story]:
    # Exactly what the store does: dataclass -> JSON -> dataclass.
    return [from_record(Story, json.loads(json.dumps(to_record(s)))) for s in stories]


def test_rebuilt_clusterer_assigns_like_the_live_one() -> None:
    first_batch = [
        *ARMS_SALE_REPORTS[:2],
        item("Russia and China start joint naval drills in the Sea of Japan", "Outlet A"),
        item("Taiwan spots 45 Chinese military aircraft near the island", "Outlet A"),
        item("Izhevsk drone plant used Chinese engines, lead says", "Outlet D",
             summary="The Kestrel-9 airframe carries engines made in Xiamen."),
    ]
    later = [
        ARMS_SALE_REPORTS[2],
        item("Russia, China begin naval exercise in Sea of Japan", "Outlet B"),
        item("Taiwan detects 45 PLA warplanes around the island", "Outlet C"),
        item("Engines in Russian drones traced to China", "Outlet E",
             summary="Units made in Xiamen power the Kestrel-9, assembled in Izhevsk."),
        item("EU adopts 17th sanctions package against Russia", "Outlet A"),
    ]
    live = StoryClusterer([])
    stories: dict[str, Story] = {}
    for it in first_batch:
        story, _ = assign(live, it)
        stories[story.id] = story

    rebuilt = StoryClusterer(_round_trip(list(stories.values())))
    then = NOW + timedelta(hours=1)
    from_live = [assign(live, it, then) for it in later]
    from_rebuilt = [assign(rebuilt, it, then) for it in later]

    assert from_rebuilt == from_live
    assert [is_new for _, is_new in from_live] == [False, False, False, False, True]


def test_story_survives_the_store_round_trip_unchanged() -> None:
    clusterer = StoryClusterer([])
    for it in ARMS_SALE_REPORTS:
        story, _ = assign(clusterer, it)
    assert _round_trip([story]) == [story]


def test_story_without_terms_still_clusters_by_title() -> None:
    bare = Story(id="s-legacy", title=ARMS_SALE_REPORTS[0].title, first_seen=NOW, last_seen=NOW,
                 sources=("Outlet A",), item_keys=("legacy",))
    story, is_new = assign(StoryClusterer([bare]), ARMS_SALE_REPORTS[1])
    assert not is_new
    assert story.id == "s-legacy"


# ---------------------------------------------------------------- languages and text


def test_chinese_reports_of_one_event_cluster_by_character_bigrams() -> None:
    clusterer = StoryClusterer([])
    story, _ = assign(clusterer, item("解放军在台湾周边举行联合军演", "Outlet Z", lang="zh"))
    joined, is_new = assign(clusterer, item("解放军台湾周边联合军演开始", "Outlet Y", lang="zh"))
    _, other_new = assign(clusterer, item("台湾东部发生强烈地震", "Outlet X", lang="zh"))

    assert not is_new
    assert joined.id == story.id
    assert other_new


def test_traditional_and_simplified_chinese_reports_of_one_event_are_one_story() -> None:
    # Taiwan and Hong Kong outlets write traditional characters, mainland ones simplified;
    # the classifier already reads both as one text, and so must the clusterer.
    clusterer = StoryClusterer([])
    story, _ = assign(clusterer, item("解放軍在臺灣海峽演習", "Outlet T", lang="zh"))
    joined, is_new = assign(clusterer, item("解放军在台湾海峡演习", "Outlet S", lang="zh"))

    assert not is_new
    assert joined.id == story.id
    assert joined.sources == ("Outlet T", "Outlet S")


def test_russian_reports_of_one_event_cluster() -> None:
    clusterer = StoryClusterer([])
    story, _ = assign(clusterer, item("ЕС утвердил семнадцатый пакет санкций против России", "Outlet R"))
    joined, is_new = assign(clusterer, item("Евросоюз утвердил новый пакет санкций против России",
                                            "Outlet S"))
    assert not is_new
    assert joined.id == story.id


@pytest.mark.parametrize(("first", "second"), [
    ("US approves $2 billion arms sale to Taiwan including air defense",
     "Washington clears $2bn Taiwan arms package with air defense systems"),
    ("Treasury warns Chinese banks of secondary sanctions over Russia trade",
     "US threatens secondary sanctions on Chinese banks financing Russian war effort"),
    ("US approves $330M sale of aircraft parts to Taiwan", "US approves $330 million arms sale to Taiwan"),
])
def test_paraphrases_with_synonyms_and_other_number_formats_join(first: str, second: str) -> None:
    clusterer = StoryClusterer([])
    story, _ = assign(clusterer, item(first, "Outlet A"))
    joined, is_new = assign(clusterer, item(second, "Outlet B"))
    assert not is_new
    assert joined.id == story.id


@pytest.mark.parametrize(("first", "second"), [
    ("Russian and Chinese bombers fly joint patrol over the Sea of Japan",
     "Российские и китайские бомбардировщики провели совместное патрулирование над Японским морем"),
    ("Russian and Chinese bombers fly joint patrol over the Sea of Japan", "中俄轰炸机在日本海上空联合巡航"),
    ("EU adopts 17th sanctions package against Russia", "ЕС утвердил 17-й пакет санкций против России"),
    ("EU adopts 17th sanctions package against Russia", "欧盟通过第十七轮对俄制裁"),
    ("Shoigu meets Wang Yi in Moscow for security talks", "绍伊古在莫斯科会见王毅"),
    ("Nauru cuts diplomatic ties with Taiwan, switches recognition to China", "瑙鲁宣布与台湾断交"),
])
def test_reports_of_one_event_in_other_languages_join(first: str, second: str) -> None:
    clusterer = StoryClusterer([])
    story, _ = assign(clusterer, item(first, "Outlet A"))
    joined, is_new = assign(clusterer, item(second, "Outlet B", lang=""))
    assert not is_new
    assert joined.id == story.id


@pytest.mark.parametrize(("first", "second"), [
    # Two sanctions packages: the ordinals disagree, in any language.
    ("EU adopts 17th sanctions package against Russia", "EU agrees 16th round of sanctions on Russia"),
    ("EU adopts 17th sanctions package against Russia", "ЕС утвердил 16-й пакет санкций против России"),
    # First transits of the Strait by different navies: the actors disagree.
    ("Canadian warship transits Taiwan Strait for the first time",
     "British warship transits Taiwan Strait for the first time"),
    ("HMS Spey transits the Taiwan Strait", "HMCS Ottawa transits the Taiwan Strait"),
    # Joint patrols a year apart: the ordinal or the sea disagrees.
    ("Russia and China hold 9th joint air patrol", "Russia and China hold 8th joint air patrol"),
    ("Russian and Chinese bombers fly joint patrol over the Sea of Japan",
     "Chinese and Russian bombers fly near Alaska in first joint patrol"),
    # Amounts, targets, companies and deeds that disagree.
    ("US approves $330M sale of aircraft parts to Taiwan", "US approves $2 billion arms sale to Taiwan"),
    ("US sanctions Chinese firms for supplying Russia's war machine",
     "US sanctions Indian firms for supplying Russia's war machine"),
    ("China sanctions Lockheed Martin over Taiwan arms sale", "China sanctions Raytheon over Taiwan arms sale"),
    ("US official arrives in Taiwan despite Chinese warnings", "China sanctions US official over Taiwan visit"),
    ("US Commerce adds 12 Chinese firms to Entity List", "China adds 12 US defense firms to unreliable entity list"),
    # Generic wording shared across languages says too little.
    ("Russia and China begin naval drills", "中俄开始联合反导演习"),
])
def test_look_alike_events_with_conflicting_slots_stay_apart(first: str, second: str) -> None:
    clusterer = StoryClusterer([])
    assign(clusterer, item(first, "Outlet A"))
    _, is_new = assign(clusterer, item(second, "Outlet B", lang=""))
    assert is_new


def test_a_look_alike_published_days_later_starts_its_own_story() -> None:
    clusterer = StoryClusterer([])
    assign(clusterer, dataclasses.replace(ARMS_SALE_REPORTS[0], published=NOW - timedelta(days=4)), NOW)
    _, is_new = assign(clusterer, dataclasses.replace(ARMS_SALE_REPORTS[1], published=NOW), NOW)
    assert is_new


def test_reports_a_day_apart_join_through_the_nearest_member() -> None:
    # Given a story whose reports spread over two days
    clusterer = StoryClusterer([])
    day = timedelta(days=1)
    for n, it in enumerate(ARMS_SALE_REPORTS[:2]):
        assign(clusterer, dataclasses.replace(it, published=NOW - 2 * day + n * day), NOW)
    # When a third outlet reports it a day after the second
    _, is_new = assign(clusterer, dataclasses.replace(ARMS_SALE_REPORTS[2], published=NOW), NOW)
    # Then it joins: publication times are compared with the nearest report, not the first
    assert not is_new


def test_story_records_its_languages_and_takes_the_highest_severity() -> None:
    clusterer = StoryClusterer([])
    assign(clusterer, item("中俄轰炸机在日本海上空联合巡航", "Outlet Z", lang="zh"), severity=Severity.ROUTINE)
    story, is_new = assign(clusterer, item("Russian and Chinese bombers fly joint patrol over the Sea of Japan",
                                           "Outlet A"), severity=Severity.URGENT)
    assert not is_new
    assert story.languages == ("zh", "en")
    assert story.severity is Severity.URGENT
    again, _ = assign(clusterer, item("Российские и китайские бомбардировщики провели совместное патрулирование "
                                      "над Японским морем", "Outlet R", lang="en"), severity=Severity.NOTABLE)
    assert again.languages == ("zh", "en", "ru"), "the script decides over a feed's wrong language"
    assert again.severity is Severity.URGENT


def test_a_story_keeps_a_member_in_each_language_when_full() -> None:
    clusterer = StoryClusterer([])
    for n in range(8):
        story, _ = assign(clusterer, item(f"EU adopts 17th sanctions package against Russia, report {n}", f"O{n}"))
    story, is_new = assign(clusterer, item("ЕС утвердил 17-й пакет санкций против России", "Outlet R"))
    assert not is_new
    rebuilt = StoryClusterer(_round_trip([story]))
    _, is_new = rebuilt.assign(item("欧盟通过第十七轮对俄制裁", "Outlet Z"), ("sanctions",), Severity.ROUTINE, NOW)
    assert not is_new
    assert len(story.terms) <= 6


def test_story_stored_in_the_first_term_encoding_is_still_read() -> None:
    # Stories stored before ids existed ("+" heavy words) stay in the window for a while.
    legacy = Story(id="s-old", title="x", first_seen=NOW, last_seen=NOW, sources=("Outlet A",),
                   item_keys=("old",), terms=("+sanction china defens firm +us taiwan weapon sale",))
    clusterer = StoryClusterer([legacy])
    assert "s-old" in clusterer
    story, _ = assign(clusterer, item("China sanctions US defense firms over Taiwan weapons sale", "Outlet B"))
    assert story.item_keys


@pytest.mark.parametrize(("title", "expected"), [
    ("China sanctions US firms - Reuters", "China sanctions US firms"),
    ("China sanctions US firms | South China Morning Post", "China sanctions US firms"),
    ("Xi meets Putin in Moscow - what we know", "Xi meets Putin in Moscow - what we know"),
    ("Taiwan - China", "Taiwan - China"),
])
def test_outlet_suffix_is_stripped_only_when_it_looks_like_an_outlet(title: str, expected: str) -> None:
    assert strip_outlet(title) == expected


def test_terms_name_things_by_id_and_weigh_figures_above_acts_above_main_countries() -> None:
    terms = item_terms(item("Chinese warships and Russian jets seen in 3 drills"))
    assert {"country:china", "country:russia", "act:warship", "act:aircraft", "act:drill", "N:3"} <= set(terms)
    assert "seen" in terms, "words the table does not name stay surface terms"
    assert terms["N:3"] > terms["act:drill"] > terms["country:china"]


# ---------------------------------------------------------------- scale


def test_lookup_stays_correct_with_many_unrelated_stories() -> None:
    clusterer = StoryClusterer([])
    for n in range(2000):
        assign(clusterer, item(f"Sanctions on China over matter {n} number {n * 7}", f"Filler {n % 50}"))
    story, _ = assign(clusterer, ARMS_SALE_REPORTS[0])
    joined, is_new = assign(clusterer, ARMS_SALE_REPORTS[1])
    assert not is_new
    assert joined.id == story.id


# ---------------------------------------------------------------- the dev set


def test_dev_items_clustered_together_share_their_topic_labels(shared_data: Path) -> None:
    # The dev set holds several reports of the same events (same labels) and many
    # look-alike events with different labels: a merge across labels is a wrong merge.
    rows = [json.loads(line) for line in (shared_data / "dev-items.jsonl").read_text().splitlines() if line]
    clusterer = StoryClusterer([])
    labels: dict[str, set[tuple[str, ...]]] = {}
    merged = 0
    for row in rows:
        it = item(row["title"], row["source"], summary=row["summary"], key=row["id"], lang=row["lang"])
        story, is_new = assign(clusterer, it, topics=tuple(row["topics"]))
        merged += not is_new
        labels.setdefault(story.id, set()).add(tuple(row["topics"]))

    mixed = [sid for sid, seen in labels.items() if len(seen) > 1 and not _overlapping(seen)]
    assert merged >= 5, "the dev set has repeated events; some must cluster"
    assert len(mixed) <= 1, f"stories mixing unrelated labels: {mixed}"


def _overlapping(label_sets: set[tuple[str, ...]]) -> bool:
    # Items of one event may carry different labels (one mentions Taiwan, one not), but
    # they share at least one; an unlabeled item next to a labeled one is a wrong merge.
    sets = [set(s) for s in label_sets]
    return all(a & b for a in sets for b in sets)


# ---------------------------------------------------------------- air and sea


def test_a_joint_bomber_patrol_and_a_joint_naval_patrol_in_one_sea_stay_apart() -> None:
    # Given a naval patrol in the Sea of Japan, reported in English (our own wording)
    clusterer = StoryClusterer([])
    naval, _ = assign(clusterer, item("Russian and Chinese navies set out on a joint patrol of the Sea of Japan",
                                      "Outlet A", summary="Destroyers and a tanker left Vladivostok together."))
    # When a Russian outlet reports the two air forces' bombers flying over the same sea that day
    air, is_new = assign(clusterer, item(
        "Российские и китайские бомбардировщики провели совместное патрулирование над Японским морем",
        "Outlet B", summary="Ракетоносцы Ту-95МС и бомбардировщики Хун-6К ВВС НОАК пролетели над морем.",
        lang="ru"))
    # Then they are two stories: different arms, different events
    assert is_new and air.id != naval.id


def test_a_report_naming_ships_and_aircraft_still_joins_a_naval_report() -> None:
    clusterer = StoryClusterer([])
    naval, _ = assign(clusterer, item("Russian and Chinese warships begin joint drills in the Sea of Japan",
                                      "Outlet A"))
    joined, is_new = assign(clusterer, item(
        "Russia and China start joint naval exercise in Sea of Japan", "Outlet B",
        summary="Warships, a submarine and anti-submarine aircraft from both navies take part."))
    assert not is_new and joined.id == naval.id
