"""robots.txt for page sources, read through the same Fetcher (SSRF guard, caps, timeouts).

Feeds and APIs are published to be polled; a page is not, so a page source is read
only where the site's robots.txt lets Vigil's user agent fetch it. Per RFC 9309: a
robots.txt that is missing (4xx) allows everything; one that cannot be read (5xx, a
network error) disallows everything until it can.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from vigil.adapters.http.fetch import USER_AGENT, Fetcher, FetchJob


class RobotsCheck:
    """Answers "may Vigil fetch this URL?", one robots.txt fetch per site per instance."""

    def __init__(self, fetcher: Fetcher, user_agent: str = USER_AGENT) -> None:
        self.fetcher = fetcher
        self.agent = user_agent.split("/", 1)[0]  # the product token: "Vigil"
        self._sites: dict[str, RobotFileParser | str] = {}

    def problem(self, url: str) -> str:
        """'' when allowed, else why not (in one line)."""
        parts = urlsplit(url)
        site = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
        rules = self._sites.get(site)
        if rules is None:
            rules = self._sites[site] = self._load(site)
        if isinstance(rules, str):
            return rules
        if not rules.can_fetch(self.agent, url):
            return f"robots.txt at {site} disallows this page for {self.agent}"
        return ""

    def _load(self, site: str) -> RobotFileParser | str:
        result = self.fetcher.fetch(FetchJob(f"robots:{site}", site))
        rules = RobotFileParser(site)
        if result.error and not 400 <= result.status < 500:
            return f"robots.txt at {site} could not be read ({result.error}); not fetching the page"
        if 400 <= result.status < 500:
            rules.parse([])  # no robots.txt: everything allowed
            return rules
        rules.parse((result.body or b"").decode("utf-8", errors="replace").splitlines())
        return rules
