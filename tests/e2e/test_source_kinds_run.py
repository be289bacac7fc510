"""`vigil run` with an OFAC list source on loopback: a baseline, then one alert per publication."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli_run import _outbox, _vigil
from tests.loopback import serve_bodies


def test_ofac_list_first_run_is_a_baseline_and_the_next_publication_one_official_alert(
    tmp_path: Path, shared_data: Path,
) -> None:
    official = shared_data / "official"
    bodies = {"/CONSOLIDATED.XML": (official / "ofac-consolidated-legacy-xml-2022-02-22-BEFORE-TRUNCATED.xml")
              .read_bytes()}
    with serve_bodies(bodies, content_type="application/xml") as base:
        sources = tmp_path / "sources.toml"
        sources.write_text(f'[[sources]]\nid = "ofac"\nname = "OFAC Consolidated List"\nkind = "ofac"\n'
                           f'url = "{base}/CONSOLIDATED.XML"\n', encoding="utf-8")
        outbox = tmp_path / "out.jsonl"
        args = ["run", "--sources", str(sources), "--state", str(tmp_path / "s.db"), "--outbox", str(outbox),
                "--channel", "C1", "--force"]
        first = _vigil(*args)
        assert first.returncode == 0, first.stderr
        assert _outbox(outbox) == [], "the first poll records the list without alerting"

        bodies["/CONSOLIDATED.XML"] = (official / "ofac-consolidated-legacy-xml-2022-02-24-AFTER-TRUNCATED.xml"
                                       ).read_bytes()
        second = _vigil(*args)
    assert second.returncode == 0, second.stderr
    calls = _outbox(outbox)
    assert len(calls) == 1
    text = json.dumps(calls[0]["payload"])
    assert "OFAC sanctions 18 parties" in text and "(official)" in text and "SOVCOMFLOT" in text
