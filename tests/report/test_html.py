"""The dashboard opened in a real headless Chromium: DOM after scripts, without scripts, pixels."""

from __future__ import annotations

import dataclasses
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from migrator.model import FleetPlan, Verdict
from migrator.report.html import dashboard
from tests.report.sample import PASSWORD, fleet

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"{CHROMIUM} is not installed (CI installs it): the dashboard needs a real browser",
)

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(page: Path, profile: Path, *extra: str) -> str:
    result = subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=90, check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dash") / "fleet.html"
    path.write_text(dashboard(fleet()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dom(page: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return chromium(page, tmp_path_factory.mktemp("profile"), "--dump-dom")


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr data-verdict="[a-z]+" data-slug="([^"]+)"', html)


def test_the_dom_holds_every_repo_row_with_a_link_to_its_report(dom: str) -> None:
    slugs = [p.repo.slug for p in fleet().repos]
    assert sorted(rows_of(dom)) == sorted(slugs)
    for plan in fleet().repos:
        assert f'href="repos/{plan.repo.slug}/report.md">{plan.repo.name}</a>' in dom


def test_the_dom_holds_the_verdict_counts(dom: str) -> None:
    plan = fleet()
    assert re.search(r'id="count-total">5<', dom)
    for verdict in Verdict:
        assert re.search(rf'id="count-{verdict.value}">{plan.count(verdict)}<', dom), verdict


def test_the_script_runs_and_reveals_the_controls(dom: str) -> None:
    assert '<div class="controls">' in dom  # `hidden` removed by the script
    assert re.search(r'id="shown"[^>]*>5 of 5 shown<', dom)


def test_without_javascript_every_row_is_still_there(page: Path, tmp_path: Path) -> None:
    # Chromium's --dump-dom needs scripting itself, so the page's own policy forbids its script.
    no_js = tmp_path / "no-js.html"
    html = page.read_text(encoding="utf-8")
    assert "script-src 'unsafe-inline'" in html
    no_js.write_text(html.replace("script-src 'unsafe-inline'", "script-src 'none'"),
                     encoding="utf-8")
    static = chromium(no_js, tmp_path / "profile", "--dump-dom")
    assert len(rows_of(static)) == len(fleet().repos)
    assert '<div class="controls" hidden="">' in static
    assert "<svg" in static and 'id="count-blocked">1<' in static


def test_clicking_a_header_sorts_and_typing_filters(page: Path, tmp_path: Path) -> None:
    driven = tmp_path / "driven.html"
    clicks = """<script>
      document.querySelectorAll("#repos th")[0].click();
      var f = document.getElementById("filter"); f.value = "shop";
      f.dispatchEvent(new Event("input"));
    </script></body>"""
    driven.write_text(page.read_text(encoding="utf-8").replace("</body>", clicks),
                      encoding="utf-8")
    out = chromium(driven, tmp_path / "profile", "--dump-dom")
    assert rows_of(out) == sorted(p.repo.slug for p in fleet().repos)
    visible = re.findall(r'<tr data-verdict="[a-z]+" data-slug="([^"]+)">', out)
    assert visible == ["shop-orders", "shop-payments"]
    assert "2 of 5 shown" in out


def test_the_file_references_nothing_outside_itself(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href|action|xlink:href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import|<link\b|<iframe\b", html)
    assert "http://" not in html and "https://" not in html
    assert "Content-Security-Policy" in html
    assert PASSWORD not in html


def test_the_screenshot_shows_tiles_bars_and_table(page: Path, tmp_path: Path) -> None:
    png = tmp_path / "dashboard.png"
    chromium(page, tmp_path / "profile", "--window-size=1280,1100", f"--screenshot={png}")
    width, height, pixels = decode_png(png.read_bytes())
    assert (width, height) == (1280, 1100)
    colours = Counter(pixels)
    assert len(colours) > 50  # text, tiles and bars, not a blank page
    # the SVG bars were painted in the verdict colours
    for colour in ((0x1A, 0x7F, 0x37), (0xCF, 0x22, 0x2E), (0x82, 0x50, 0xDF)):
        assert colours[colour] > 500, colour


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """RGB(A) 8-bit, non-interlaced PNG (what Chromium writes) to a list of RGB pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        pixels += [tuple(line[i:i + 3]) for i in range(0, stride, bpp)]  # type: ignore[misc]
        previous = line
    return width, height, pixels


# --- the gap report section ------------------------------------------------------------------

EVIL = 'evil<img src=x onerror="alert(1)">'


def gaps_fleet() -> FleetPlan:
    from tests.central.test_gaps import item, repo, small_fleet

    plan = small_fleet()
    hostile = repo(EVIL, item("extra-container", resource="Deployment/<b>x</b>"))
    return dataclasses.replace(plan, repos=(*plan.repos, hostile))


@pytest.fixture(scope="module")
def gaps_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gaps") / "fleet.html"
    path.write_text(dashboard(gaps_fleet()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gaps_dom(gaps_page: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return chromium(gaps_page, tmp_path_factory.mktemp("profile"), "--dump-dom")


def test_the_gap_section_lists_the_unblock_order_with_cumulative_counts(gaps_dom: str) -> None:
    section = gaps_dom[gaps_dom.index('<section class="card" id="gaps-section">'):]
    section = section[:section.index("</section>")]
    steps = re.findall(r'<li data-feature="([^"]+)" data-cumulative="(\d+)">', section)
    # the hostile repo needs extraContainers only: it moves at the first step with r1 and r11
    assert steps == [("extraContainers", "3"), ("extraEnv + envFrom", "5"),
                     ("extraObjects", "7"), ("extraVolumes + extraVolumeMounts", "8")]
    assert "add extraContainers + extraEnv + envFrom: 5 repos can move" in section
    assert '<a href="central-gaps.md">central-gaps.md</a>' in section
    assert "the target already has <code>volumes</code>: a mapping to write" in section
    rows = re.findall(r'<tr data-kind="([^"]+)">', section)
    assert rows[0] == "extra-container" and "other" in rows
    first = section[section.index('<tr data-kind="extra-container">'):]
    assert re.match(r'<tr data-kind="extra-container"><td class="kind"><code>extra-container'
                    r'</code></td><td class="num">8</td><td class="num">8</td>', first)


def test_the_gap_section_escapes_what_repos_name(gaps_page: Path, gaps_dom: str) -> None:
    html = gaps_page.read_text(encoding="utf-8")
    assert EVIL not in html and "<b>x</b>" not in html
    assert "evil&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "<img" not in gaps_dom and "<b>x" not in gaps_dom
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)


def test_a_fleet_without_customizations_has_no_gap_section(dom: str) -> None:
    assert 'id="gaps-section"' not in dom
