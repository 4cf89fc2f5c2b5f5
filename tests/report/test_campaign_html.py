"""The campaign burn-down and the phone-width table, in a real headless Chromium driven over
the DevTools protocol (a 390 px viewport needs device emulation: see tests/report/cdp.py).

Each test leaves its screenshots in its pytest tmp dir: `burndown-desktop.png`,
`burndown-desktop-chart.png`, `phone-390.png`, `phone-390-chart.png`."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from migrator.history import Observation
from migrator.report.html import dashboard
from tests.report.cdp import CHROMIUM, Page
from tests.report.sample import fleet
from tests.report.test_html import decode_png

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"{CHROMIUM} is not installed (CI installs it): the dashboard needs a real browser",
)

MERGED_RGB, REMAINING_RGB = (0x1A, 0x7F, 0x37), (0xA5, 0xB4, 0xC4)
MR = "https://gitlab.example.com/{}/-/merge_requests/4"
EVIL = 'evil<img src=x onerror="alert(1)">'


def at(day: int) -> float:
    return datetime(2024, 5, day, 15, tzinfo=UTC).timestamp()


def seen(day: int, repo: str, state: str, **kw: str) -> Observation:
    return Observation(taken=at(day), repo=repo, state=state, **kw)  # type: ignore[arg-type]


# Six days (no run on the 4th): per day merged/remaining 0/5, 1/4, 1/4, 1/4, 2/3, 3/2.
# web/docs-site is planned `skipped` and never had an MR: it is not part of the campaign.
HISTORY = (
    *(seen(1, r, "open", created_at="2024-04-30T10:00:00Z", web_url=MR.format(r))
      for r in ("shop/orders", "shop/payments")),
    seen(1, "ops/legacy", "draft", created_at="2024-04-20T10:00:00Z",
         web_url=MR.format("ops/legacy")),
    seen(1, "ops/broken", "none"), seen(1, "web/docs-site", "none"),
    seen(1, EVIL, "open", web_url=MR.format("evil")),  # no created_at: since its first run
    seen(2, "shop/orders", "merged", created_at="2024-04-30T10:00:00Z",
         merged_at="2024-05-02T10:00:00Z"),
    seen(3, "shop/payments", "unknown"),
    seen(3, "ops/broken", "open", created_at="2024-05-03T08:00:00Z",
         web_url="javascript:alert(1)"),
    seen(5, "shop/payments", "merged", created_at="2024-04-30T10:00:00Z",
         merged_at="2024-05-05T10:00:00Z"),
    seen(6, "ops/legacy", "merged", created_at="2024-04-20T10:00:00Z",
         merged_at="2024-05-06T10:00:00Z"),
    seen(6, "web/docs-site", "none"),
)
DAYS = [("2024-05-01", 0, 5), ("2024-05-02", 1, 4), ("2024-05-03", 1, 4), ("2024-05-04", 1, 4),
        ("2024-05-05", 2, 3), ("2024-05-06", 3, 2)]
# open the longest: the hostile one since 1 May, ops/broken since 3 May (its URL no link)
OLDEST = [[EVIL, MR.format("evil")], ["ops/broken", None]]

MEASURE = """(function () {
  function box(el) { var r = el.getBoundingClientRect();
    return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; }
  var svg = document.querySelector("#campaign svg.burndown");
  var style = getComputedStyle(svg);
  var days = Array.prototype.map.call(svg.querySelectorAll("g.day"), function (g) {
    return [g.getAttribute("data-day"), +g.getAttribute("data-merged"),
            +g.getAttribute("data-remaining"),
            g.querySelector("rect.merged").getBoundingClientRect().height,
            g.querySelector("rect.remaining").getBoundingClientRect().height];
  });
  var probe = document.createElement("span");
  probe.textContent = "abcdefghijklmnopqrstuvwxyz";
  probe.style.cssText = "position:absolute;visibility:hidden;white-space:nowrap";
  var reasons = Array.prototype.map.call(document.querySelectorAll("#repos td.reason"),
    function (td) {
      td.appendChild(probe);
      var ch = probe.getBoundingClientRect().width / 26;
      td.removeChild(probe);
      return td.getBoundingClientRect().width / ch;
    });
  return {
    viewport: innerWidth, page: document.documentElement.scrollWidth,
    svg: box(svg), shown: style.display !== "none" && style.visibility === "visible",
    title: svg.querySelector("title").textContent, desc: svg.querySelector("desc").textContent,
    labelledby: svg.getAttribute("aria-labelledby"),
    labels: Array.prototype.map.call(svg.querySelectorAll("text"),
                                     function (t) { return t.textContent; }),
    days: days, reasons: reasons,
    scripts: document.querySelectorAll("#campaign script, #campaign [onclick]").length,
    controlsHidden: document.querySelector(".controls").hidden,
    median: document.getElementById("median-to-merge").textContent,
    oldest: Array.prototype.map.call(document.querySelectorAll("#oldest-open li"),
      function (li) { var a = li.querySelector("a");
                      return [li.getAttribute("data-repo"), a ? a.getAttribute("href") : null]; }),
    images: document.querySelectorAll("img").length
  };
})()"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("campaign") / "fleet.html"
    path.write_text(dashboard(fleet(), HISTORY), encoding="utf-8")
    return path


def look(page: Path, profile: Path, shots: Path, name: str, *, width: int, height: int,
         mobile: bool = False) -> dict[str, Any]:
    """The page with its own script kept from running: all it shows, it shows without it."""
    with Page(profile, width=width, height=height, mobile=mobile, scripts=False) as tab:
        tab.open(page)
        seen: dict[str, Any] = tab.evaluate(MEASURE)
        tab.screenshot(shots / f"{name}.png")
        tab.screenshot(shots / f"{name}-chart.png", clip=seen["svg"])
    return seen


def painted(png: Path) -> Counter[tuple[int, int, int]]:
    _, _, pixels = decode_png(png.read_bytes())
    return Counter(pixels)


def check_burndown(seen: dict[str, Any]) -> None:
    assert seen["shown"] and seen["svg"]["width"] > 250 and seen["svg"]["height"] > 80
    assert [d[:3] for d in seen["days"]] == [list(d) for d in DAYS]
    for _, merged, remaining, merged_px, remaining_px in seen["days"]:
        # every bar painted in proportion: 5 repos at most, the plot about 178 units high
        assert (merged_px > 0) == (merged > 0) and remaining_px > 0
        assert abs(merged_px * remaining - remaining_px * merged) < 1.0
    assert seen["title"] == "Merge requests: merged vs remaining per day"
    assert seen["desc"].startswith("6 days from 2024-05-01 to 2024-05-06")
    assert seen["labelledby"] == "burndown-title burndown-desc"
    assert {"2024-05-01", "2024-05-06", "3 merged", "2 remaining", "5", "0"} <= set(
        seen["labels"])
    assert seen["scripts"] == 0 and seen["controlsHidden"]  # no script ran, none needed
    assert seen["images"] == 0  # the hostile repo name stayed text


def test_the_burn_down_at_desktop_width_without_any_script(page: Path, tmp_path: Path) -> None:
    seen = look(page, tmp_path / "profile", tmp_path, "burndown-desktop", width=1280,
                height=900)
    check_burndown(seen)
    assert seen["median"] == "5.0 days"  # 2 days (orders), 5 (payments), 16 (legacy)
    assert seen["oldest"] == OLDEST
    colours = painted(tmp_path / "burndown-desktop-chart.png")
    assert colours[MERGED_RGB] > 300 and colours[REMAINING_RGB] > 1000


def test_the_page_loads_nothing_and_links_only_to_gitlab(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    assert "javascript:" not in html and EVIL not in html
    assert not re.search(r"""\s(src|action|xlink:href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import|<link\b|<iframe\b", html)
    links = re.findall(r'href="(https?://[^"]+)"', html)
    assert links == [MR.format("evil")]


def test_the_phone_width_shows_the_burn_down_and_a_readable_table(page: Path,
                                                                  tmp_path: Path) -> None:
    seen = look(page, tmp_path / "profile", tmp_path, "phone-390", width=390, height=844,
                mobile=True)
    assert seen["viewport"] == 390 and seen["page"] <= 390  # nothing wider than the phone
    check_burndown(seen)
    assert seen["svg"]["width"] <= 390 - 24
    # Each reason spans the card (about 43 characters); it was 10, one word per line.
    assert len(seen["reasons"]) == len(fleet().repos)
    assert min(seen["reasons"]) >= 30, seen["reasons"]
    colours = painted(tmp_path / "phone-390-chart.png")
    assert colours[MERGED_RGB] > 100 and colours[REMAINING_RGB] > 300


def test_without_history_there_is_no_campaign_section(tmp_path: Path) -> None:
    assert 'id="campaign"' not in dashboard(fleet())
    assert 'id="campaign"' not in dashboard(fleet(), (seen(1, "web/docs-site", "none"),))
