"""The default topics on sentences written for these tests (never copied from the data sets)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from vigil.adapters.config.topics import load_topics
from vigil.domain.classify import EVIDENCE_STOP_WORDS, MAX_EVIDENCE, Classifier, classify_jsonl
from vigil.domain.errors import ConfigError
from vigil.domain.models import Severity, Topic

RCM, SANCTIONS, TAIWAN = "russia-china-military", "sanctions", "taiwan"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_topics())


def topics_of(classifier: Classifier, title: str, summary: str = "") -> set[str]:
    return {m.topic for m in classifier.classify(title, summary)}


# Each case: title, summary, expected topics. Written from the topic definitions.
CASES = [
    # russia-china-military
    ("Chinese and Russian warships begin joint drills in the Sea of Okhotsk", "", {RCM}),
    ("Moscow and Beijing fly nuclear-capable bombers on a joint patrol over the Pacific", "", {RCM}),
    ("Kremlin says defence ties with China are not aimed at third countries",
     "Russia's military cooperation with Beijing is open, the spokesman said.", {RCM}),
    ("Beijing's defence minister holds talks with his Russian counterpart", "", {RCM}),
    ("Report: Chinese firms ship drone engines to Russian arms makers", "", {RCM}),
    ("Россия и Китай провели совместное патрулирование бомбардировщиками", "", {RCM}),
    ("中俄海军举行联合演习", "", {RCM}),
    # not russia-china-military
    ("Russia and China sign a gas supply deal", "The pipeline will carry 50 bcm a year.", set()),
    ("Putin watches a military parade in Beijing with Xi", "Leaders praised their friendship.", set()),
    ("Russia tests a new intercontinental missile", "The launch took place in the north.", set()),
    ("Chinese tourists flock to Moscow", "Visa-free travel boosted numbers.", set()),
    # taiwan
    ("PLA aircraft cross the Taiwan Strait median line", "", {TAIWAN}),
    ("Taiwan holds annual Han Kuang exercises", "", {TAIWAN}),
    ("Washington approves a missile sale to Taipei", "", {TAIWAN}),
    ("Taiwanese voters head to the polls in a recall vote", "", {TAIWAN}),
    ("Taiwan loses a diplomatic ally to Beijing", "", {TAIWAN}),
    ("解放军在台湾周边举行演习", "", {TAIWAN}),
    # not taiwan
    ("Strong earthquake shakes eastern Taiwan", "Buildings swayed in Taipei; no military damage.", set()),
    ("Taiwan chipmaker reports record quarterly revenue", "", set()),
    ("Typhoon forces Taiwan to close schools", "", set()),
    # sanctions
    ("EU adopts its next sanctions package against Russia", "", {SANCTIONS}),
    ("UK designates more shadow fleet tankers carrying Russian oil", "", {SANCTIONS}),
    ("Commerce adds Chinese chip firms to the Entity List", "", {SANCTIONS}),
    ("Beijing tightens export controls on rare earth processing technology",
     "China's commerce ministry announced licences will be required.", {SANCTIONS}),
    ("Treasury targets Hong Kong front companies that helped Moscow evade sanctions", "", {SANCTIONS}),
    ("ЕС утвердил новый пакет санкций против России", "", {SANCTIONS}),
    ("中国商务部宣布对美国企业实施出口管制", "", {SANCTIONS}),
    # not sanctions
    ("US lifts sanctions on Syria's central bank", "", set()),
    ("Washington expands sanctions on Iran's oil exports", "", set()),
    ("EU imposes anti-dumping duties on steel from Vietnam", "", set()),
    # two topics
    ("China sanctions US arms makers over weapons sales to Taiwan", "", {SANCTIONS, TAIWAN}),
    ("US sanctions Chinese companies supplying components for Russia's war machine", "", {RCM, SANCTIONS}),
]


@pytest.mark.parametrize(("title", "summary", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_default_topics(classifier: Classifier, title: str, summary: str, expected: set[str]) -> None:
    assert topics_of(classifier, title, summary) == expected


def test_results_are_sorted_by_topic_id_with_scores_in_range(classifier: Classifier) -> None:
    matches = classifier.classify("China sanctions US arms makers over weapons sales to Taiwan")
    assert [m.topic for m in matches] == sorted(m.topic for m in matches)
    assert all(0.5 <= m.score <= 1.0 for m in matches)


def test_evidence_names_the_phrases_that_matched_in_the_items_own_words(classifier: Classifier) -> None:
    (match,) = classifier.classify("Commerce adds Chinese chip firms to the Entity List")
    assert "Entity List" in match.evidence
    assert "Chinese" in match.evidence
    assert "adds" not in match.evidence, "a rule's context word is no evidence"


def test_evidence_quotes_the_item_as_written_not_its_normalized_words(classifier: Classifier) -> None:
    [match] = classifier.classify("Chinese drone parts keep Russia's army supplied, officials say")
    assert "Russia's army" in match.evidence
    assert not any(" s " in f" {phrase} " for phrase in match.evidence), match.evidence
    [match] = classifier.classify("解放軍在臺灣海峽舉行演習")
    assert all(phrase in "解放軍在臺灣海峽舉行演習" for phrase in match.evidence), match.evidence


def test_evidence_joins_neighbouring_terms_and_leaves_out_function_words(classifier: Classifier) -> None:
    [match] = classifier.classify("EU adopts new sanctions package against Russia over Ukraine war")
    assert not {"adopts", "new", "package", "against"} & {p.lower() for p in match.evidence}, match.evidence
    [match] = classifier.classify("ЕС ввел новый пакет санкций против России")
    assert not {"против", "пакет", "ввел"} & {p.lower() for p in match.evidence}, match.evidence
    [match] = classifier.classify("Chinese and Russian warships hold joint naval drills near Alaska")
    assert "joint naval drills" in match.evidence


def test_evidence_on_the_dev_items_is_the_items_own_phrases_and_no_function_words(shared_data: Path,
                                                                                  classifier: Classifier) -> None:
    rows = [json.loads(line) for name in ("dev-items.jsonl", "stories-dev.jsonl")
            for line in (shared_data / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    quoted = 0
    for row in rows:
        title, summary = row["title"], row.get("summary") or ""
        for match in classifier.classify(title, summary):
            assert 1 <= len(match.evidence) <= MAX_EVIDENCE, (row["id"], match)
            for phrase in match.evidence:
                assert phrase.lower() in title.lower() or phrase.lower() in summary.lower(), (row["id"], phrase)
                assert phrase.lower() not in EVIDENCE_STOP_WORDS, (row["id"], phrase)
                quoted += 1
    assert quoted > 300


def test_severity_urgent_for_a_blockade_drill(classifier: Classifier) -> None:
    (match,) = classifier.classify("PLA rehearses a blockade of Taiwan in live-fire drills")
    assert match.severity is Severity.URGENT


def test_severity_notable_and_routine(classifier: Classifier) -> None:
    (notable,) = classifier.classify("Taiwan reports Chinese warships near its coast")
    assert notable.severity is Severity.NOTABLE
    (routine,) = classifier.classify("Taiwan's opposition party picks a new chairwoman", "The KMT vote was close.")
    assert routine.severity is Severity.ROUTINE


def test_scores_cover_every_topic_and_agree_with_classify(classifier: Classifier) -> None:
    title = "Russia and China hold talks on trade"
    scores = classifier.scores(title)
    assert set(scores) == {RCM, SANCTIONS, TAIWAN}
    applied = {m.topic for m in classifier.classify(title)}
    assert {t for t, s in scores.items() if s >= 0.5} == applied
    assert 0 < scores[RCM] < 0.5  # a near miss scores above an unrelated topic
    assert scores[TAIWAN] < scores[RCM]


def test_language_hint_does_not_change_the_result(classifier: Classifier) -> None:
    title = "Россия и Китай начали совместные военные учения"
    assert classifier.classify(title, lang="ru") == classifier.classify(title, lang=None)


# --- vigil classify (JSON Lines) ----------------------------------------------------


def test_classify_jsonl_adds_topics_scores_and_evidence(classifier: Classifier) -> None:
    line = json.dumps({"title": "Taiwan reports PLA drills", "summary": "", "url": "https://x.test/1"})
    out = io.StringIO()
    assert classify_jsonl(io.StringIO(line + "\n"), out, classifier) == 0
    record = json.loads(out.getvalue())
    assert record["url"] == "https://x.test/1"
    assert record["topics"] == [TAIWAN]
    assert set(record["scores"]) == {RCM, SANCTIONS, TAIWAN}
    # Subject terms first, then who/where (see test_evidence_leads_with_the_subject...).
    assert record["evidence"] == {TAIWAN: ["drills", "Taiwan", "PLA"]}


def test_bad_lines_are_reported_with_line_numbers_and_skipped(classifier: Classifier) -> None:
    good = json.dumps({"title": "Kinmen coast guard turns back Chinese ships"})
    lines = "\n".join([good, "{not json", '["a list"]', json.dumps({"title": 5}), good]) + "\n"
    out, err = io.StringIO(), io.StringIO()
    assert classify_jsonl(io.StringIO(lines), out, classifier, err) == 3
    assert len(out.getvalue().splitlines()) == 2
    messages = err.getvalue().splitlines()
    assert [m.split(":")[1].strip() for m in messages] == ["line 2", "line 3", "line 4"]


# --- topics files -------------------------------------------------------------------


def test_default_topics_are_the_three_stable_ids() -> None:
    topics = load_topics()
    assert [t.id for t in topics] == [RCM, TAIWAN, SANCTIONS]
    assert all(t.description and t.urgent and t.notable for t in topics)
    assert all("@" not in t.query for t in topics)  # term lists are expanded


def test_bad_query_in_a_topics_file_is_a_one_line_config_error(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text('[[topics]]\nid = "x"\nname = "X"\nquery = "taiwan AND (drills"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message and "missing ')'" in message and "position 12" in message


def test_unknown_term_list_in_a_topics_file(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text('[terms]\nru = "russia"\n[[topics]]\nid = "x"\nquery = "@ru AND @cn"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown term list @cn"):
        load_topics(path)


def test_missing_topics_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_topics(tmp_path / "nope.toml")


def test_evidence_leads_with_the_subject_and_lists_countries_last() -> None:
    # Our own wording: the countries come first in the headline, the subject after.
    [match] = Classifier(load_topics()).classify(
        "Russian and Chinese bombers fly a joint patrol over the Sea of Japan"
    )
    assert match.topic == "russia-china-military"
    countries = {"Russian", "Chinese"}
    assert countries <= set(match.evidence)
    first_country = min(match.evidence.index(c) for c in countries)
    assert all(term not in countries for term in match.evidence[:first_country])
    assert first_country >= 1, "a subject term ('patrol', 'bombers', 'joint') comes first"


# --- work per item ------------------------------------------------------------------

# The costliest shape the custom-topic limits allow: six NEARs, nested two deep, over
# common words.
COSTLY = ("((the NEAR/1000 the) NEAR/1000 (the NEAR/1000 the)) "
          "AND ((of NEAR/1000 of) NEAR/1000 (of NEAR/1000 of))")
DRILLS = "PLA launches live-fire drills around Taiwan, simulating a blockade"


def test_a_custom_topic_out_of_work_is_skipped_and_counted_while_the_shipped_ones_match() -> None:
    # Given the shipped topics and a channel's costly custom topic
    custom = Topic("C1/costly", "costly", COSTLY, channel="C1")
    classifier = Classifier([*load_topics(), custom])
    # When an item repeats the custom topic's words hundreds of times
    summary = "the of " * 250
    matches = classifier.classify(DRILLS, summary)
    # Then the shipped topic still matches, and the custom one is skipped and counted
    assert [m.topic for m in matches] == [TAIWAN]
    assert classifier.over_budget == {"C1/costly": 1}
    assert classifier.skipped() == [(custom, 1)]
    # ... the same way when every topic is scored
    assert classifier.scores(DRILLS, summary)["C1/costly"] < 0.5
    assert classifier.over_budget == {"C1/costly": 2}


def test_a_custom_topic_that_fits_its_allowance_matches_as_usual() -> None:
    classifier = Classifier([*load_topics(), Topic("C1/costly", "costly", COSTLY, channel="C1")])
    summary = "Most of the crews of the ships left the port at the end of the day, one of the officers said."
    matches = classifier.classify(DRILLS, summary)
    assert [m.topic for m in matches] == ["C1/costly", TAIWAN]
    assert not classifier.over_budget


# ---------------------------------------------------------------- issue 15: weak spots

@pytest.mark.parametrize(("lead", "rest"), [
    ("TAIPEI (CNA) – Seoul's parliament voted", "Seoul's parliament voted"),
    ("Taipei, Taiwan (Focus Taiwan) -- The army said", "The army said"),
    ("MOSCOW, March 3 (Reuters) - Troops moved", "Troops moved"),
    ("KAOHSIUNG — The navy said", "The navy said"),
    # Not datelines: a lead that starts with a name, an acronym or a bracketed remark.
    ("Taiwan - China talks resume", "Taiwan - China talks resume"),
    ("Xi Jinping (left) – shakes hands with Putin", "Xi Jinping (left) – shakes hands with Putin"),
    ("PLA — drills resume", "PLA — drills resume"),
    ("MND: 27 aircraft detected", "MND: 27 aircraft detected"),
])
def test_a_wire_dateline_is_stripped_and_nothing_else(lead: str, rest: str) -> None:
    from vigil.domain.text import strip_dateline

    assert strip_dateline(lead) == rest


def test_a_taiwanese_dateline_alone_is_no_taiwan_evidence(classifier: Classifier) -> None:
    # CNA and Focus Taiwan file foreign news from Taipei: the dateline is where, not what.
    assert topics_of(classifier, "Seoul lawmakers vote to impeach defence minister",
                     "TAIPEI (CNA) – South Korea's parliament voted to impeach the defence minister.") == set()
    assert topics_of(classifier, "Thai army keeps troops on the border",
                     "Taipei, Taiwan (Focus Taiwan) – Thailand's army chief said soldiers stay deployed.") == set()
    # The same dateline over a Taiwan story: the story names Taiwan itself.
    assert topics_of(classifier, "Coast guard tracks Chinese ships near Pratas",
                     "TAIPEI (CNA) – Four Chinese coast guard vessels entered Taiwan's restricted waters.") == {TAIWAN}


@pytest.mark.parametrize("title", [
    "Markets rally after Phase One China trade deal is signed",
    'US, China hail "phase one" China trade pact as first step',
    "Trade talks finish phase one; China agrees to buy more soybeans",
])
def test_a_numbered_phase_before_china_is_not_the_one_china_policy(classifier: Classifier, title: str) -> None:
    assert TAIWAN not in topics_of(classifier, title)


def test_the_one_china_policy_is_still_taiwan(classifier: Classifier) -> None:
    assert topics_of(classifier, "Honduras endorses the one-China principle") == {TAIWAN}
    assert topics_of(classifier, 'Beijing warns Washington to respect "One China"') == {TAIWAN}


def test_guojun_inside_a_countrys_name_is_not_taiwans_army(classifier: Classifier) -> None:
    # 中国军队 / 美国军方 hold 国军 (Taiwan's name for its forces) across a word boundary.
    assert TAIWAN not in topics_of(classifier, "中国军队派员赴俄参加“东方-2030”战略演习")
    assert TAIWAN not in topics_of(classifier, "美国军方在关岛举行演习")
    assert topics_of(classifier, "国军举行年度实弹演习") == {TAIWAN}


# Russia-China cooperation not worded "joint" or "Russia and China" (issue 15).
PARTICIPATION_CASES = [
    ("Russian Il-76 transports drop paratroopers in a drill with the Chinese army", ""),
    ("Tu-160 crews practise aerial refuelling with China for the first time", ""),
    ("Moscow opens Zapad manoeuvres", "Belarusian and Chinese troops will also take part, the general staff said."),
    ("Chinese artillery battalion unloads in Buryatia for Vostok-2032", ""),
    ("PLA Navy sends two destroyers to Okean-2031", ""),
    ("Joint Sea-2033 opens off Vladivostok", "The drill will last a week, the Pacific Fleet said."),
    ("Морское взаимодействие-2032: отряд кораблей ВМФ прибыл в Шанхай", ""),
    ("Российские бомбардировщики выполнили патрулирование с китайскими Н-6", ""),
    ("中方派员参加“中部-2031”战略演习", ""),
    ("俄罗斯海军舰艇编队抵达湛江 与中国海军举行演练", ""),
    ("Китай в обход западных санкций и ограничений ЕС продавал России артиллерийские снаряды", ""),
]


@pytest.mark.parametrize(("title", "summary"), PARTICIPATION_CASES, ids=[c[0][:40] for c in PARTICIPATION_CASES])
def test_cooperation_by_participation_named_exercise_or_russian_supply(classifier: Classifier, title: str,
                                                                       summary: str) -> None:
    assert RCM in topics_of(classifier, title, summary)


NOT_COOPERATION_CASES = [
    # Both countries in one sentence, no cooperation between them.
    ("India's new radars, bought from Russia, will help thwart air strikes from both Pakistan and China", ""),
    ("Vietnam buys Russian submarines to deter Chinese patrols near its islands", ""),
    ("Russia and China hold separate naval drills in the Pacific", "The two fleets did not meet, officials said."),
    ("Mongolia trains with Russia in June and separately with China in September", ""),
    # Participation, but not military.
    ("Chinese carmakers will also take part in the Moscow motor show", ""),
    ("Vostok cosmonaut museum opens a Chinese-language tour", ""),
]


@pytest.mark.parametrize(("title", "summary"), NOT_COOPERATION_CASES, ids=[c[0][:40] for c in NOT_COOPERATION_CASES])
def test_two_countries_without_cooperation_are_not_the_pair(classifier: Classifier, title: str, summary: str) -> None:
    assert RCM not in topics_of(classifier, title, summary)
