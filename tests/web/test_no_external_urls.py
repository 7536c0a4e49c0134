"""The built app names no outside URL: it must work on an isolated network (no CDN, no tiles)."""

import re

from citybrain.web import DIST

URL = re.compile(r"https?://[^\s\"'`)<>\\]+")
# XML namespace names are identifiers that browsers never fetch.
NAMESPACE = re.compile(
    r"^http://www\.w3\.org/(2000/svg|2000/xmlns/|1999/xlink|1999/xhtml|XML/1998/namespace)$"
)


def test_the_build_names_no_outside_url() -> None:
    files = [p for p in DIST.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in files), "build the app: scripts/install-npm-deps.sh"
    outside = {
        (p.name, url)
        for p in files
        for url in URL.findall(p.read_text(errors="replace"))
        if not NAMESPACE.match(url)
    }
    assert outside == set()
