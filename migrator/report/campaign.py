"""The campaign section of the dashboard: merged vs remaining per day as an inline SVG, the
median time to merge, and the merge requests open the longest.

Static markup only (the page's script plays no part in it), readable without colour: every bar
carries its numbers in a `<title>`, the chart a `<title>`/`<desc>` pair and text labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from html import escape
from urllib.parse import urlsplit

from migrator.history import Observation
from migrator.model import FleetPlan, Verdict
from migrator.report.burndown import Campaign, Day, OpenMr, campaign

_STATE_WORDS = {"merged": "merged", "open": "open", "draft": "draft", "closed": "closed",
                "none": "without MR", "unknown": "not answered"}

# Chart geometry (viewBox units): the plot, and room for the axis and the end labels.
_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 600, 220, 44, 130, 12, 30


def campaign_section(fleet: FleetPlan, observed: Sequence[Observation]) -> str:
    """The section, or "" when no `status` run has left a history."""
    found = campaign(observed, not_migrated={
        p.repo.name for p in fleet.repos if p.verdict is Verdict.SKIPPED})
    if found is None:
        return ""
    latest = ", ".join(f"{n} {_STATE_WORDS[s]}" for s, n in found.latest.items())
    return "\n".join([
        '<section class="card" id="campaign">',
        "<h2>Campaign</h2>",
        f'<p class="meta">As of the last <code>migrator status</code>, '
        f"{found.as_of:%Y-%m-%d %H:%M} UTC: {escape(latest)}.</p>",
        '<div class="campaign">',
        f'<figure class="burndown">{burndown_svg(found.days)}'
        '<p class="legend"><span class="swatch merged"></span>merged '
        '<span class="swatch remaining"></span>remaining (open, draft, closed or no MR yet)'
        "</p></figure>",
        '<div class="facts">',
        _median(found),
        _oldest(found.oldest_open),
        "</div>",
        "</div>",
        "</section>",
    ])


def burndown_svg(days: Sequence[Day]) -> str:
    """One stacked bar per calendar day: merged at the bottom, remaining on top."""
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    top = max((d.total for d in days), default=0) or 1
    slot = plot_w / max(len(days), 1)
    bar_w = round(max(slot * 0.72, 1.0), 2)
    base = _TOP + plot_h
    first, last = days[0], days[-1]
    desc = (f"{len(days)} day{'' if len(days) == 1 else 's'} from {first.day} to {last.day}: "
            f"{first.merged} of {first.total} merged on the first day, {last.merged} of "
            f"{last.total} merged and {last.remaining} remaining on the last.")
    svg = [f'<svg class="burndown" viewBox="0 0 {_W} {_H}" role="img" '
           'aria-labelledby="burndown-title burndown-desc">',
           '<title id="burndown-title">Merge requests: merged vs remaining per day</title>',
           f'<desc id="burndown-desc">{escape(desc)}</desc>',
           f'<line class="grid" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT + plot_w}" y2="{_TOP}"/>',
           f'<line class="axis" x1="{_LEFT}" y1="{base}" x2="{_LEFT + plot_w}" y2="{base}"/>',
           f'<text class="axis" x="{_LEFT - 6}" y="{_TOP + 5}" text-anchor="end">{top}</text>',
           f'<text class="axis" x="{_LEFT - 6}" y="{base}" text-anchor="end">0</text>']
    for i, day in enumerate(days):
        x = round(_LEFT + i * slot + (slot - bar_w) / 2, 2)
        merged_h = round(plot_h * day.merged / top, 2)
        remaining_h = round(plot_h * day.remaining / top, 2)
        svg.append(
            f'<g class="day" data-day="{day.day}" data-merged="{day.merged}" '
            f'data-remaining="{day.remaining}"><title>{day.day}: {day.merged} merged, '
            f"{day.remaining} remaining</title>"
            f'<rect class="merged" x="{x}" y="{round(base - merged_h, 2)}" width="{bar_w}" '
            f'height="{merged_h}"/>'
            f'<rect class="remaining" x="{x}" y="{round(base - merged_h - remaining_h, 2)}" '
            f'width="{bar_w}" height="{remaining_h}"/></g>')
    svg.append(f'<text class="axis" x="{_LEFT}" y="{_H - 8}">{first.day}</text>')
    if len(days) > 1:
        svg.append(f'<text class="axis" x="{_LEFT + plot_w}" y="{_H - 8}" text-anchor="end">'
                   f"{last.day}</text>")
    # The last day's numbers beside its bar, kept apart when one segment is thin.
    end_x = _LEFT + plot_w + 8
    merged_y = base - plot_h * last.merged / top / 2 + 4
    remaining_y = min(base - plot_h * (last.merged + last.remaining / 2) / top + 4,
                      merged_y - 16)
    svg += [f'<text class="value" x="{end_x}" y="{round(max(remaining_y, _TOP + 8), 2)}">'
            f"{last.remaining} remaining</text>",
            f'<text class="value merged" x="{end_x}" y="{round(merged_y, 2)}">'
            f"{last.merged} merged</text>",
            "</svg>"]
    return "".join(svg)


def _median(found: Campaign) -> str:
    if found.median_to_merge is None:
        return ('<p class="median"><span class="l">Median time to merge</span>'
                '<span class="n">—</span><span class="h">no merge with both ends known yet'
                "</span></p>")
    n = found.timed_merges
    return ('<p class="median"><span class="l">Median time to merge</span>'
            f'<span class="n" id="median-to-merge">{_duration(found.median_to_merge)}</span>'
            f'<span class="h">over {n} merged MR{"" if n == 1 else "s"}, from opened to merged'
            "</span></p>")


def _oldest(mrs: Sequence[OpenMr]) -> str:
    if not mrs:
        return '<p class="h">No merge request is open.</p>'
    items = []
    for mr in mrs:
        name = escape(mr.repo)
        link = (f'<a href="{escape(mr.web_url, quote=True)}" rel="noreferrer">{name}</a>'
                if mr.web_url and _web(mr.web_url) else name)
        items.append(f'<li data-repo="{escape(mr.repo, quote=True)}">{link} '
                     f'<span class="h">{mr.state} · open {_duration(mr.age)}, since '
                     f"{mr.since:%Y-%m-%d}</span></li>")
    return ('<div class="oldest"><span class="l">Open the longest</span>'
            f'<ol id="oldest-open">{"".join(items)}</ol></div>')


def _web(url: str) -> bool:
    # A link people follow from the published page: GitLab's, never a script or local file.
    return urlsplit(url).scheme in ("https", "http")


def _duration(span: timedelta) -> str:
    days = span.total_seconds() / 86400
    if days >= 1:
        return f"{days:.1f} days"
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours >= 1 else f"{round(span.total_seconds() / 60)} minutes"


CSS = """
#campaign .campaign { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
  gap: 18px; align-items: start; }
figure.burndown { margin: 0; }
svg.burndown rect.merged { fill: var(--ready); }
svg.burndown rect.remaining { fill: var(--before); }
svg.burndown line.grid { stroke: var(--line); stroke-dasharray: 3 3; }
svg.burndown line.axis { stroke: var(--muted); }
svg.burndown text.merged { fill: var(--ready); font-weight: 600; }
.swatch.merged { background: var(--ready); } .swatch.remaining { background: var(--before); }
#campaign .facts .l { display: block; font-weight: 600; }
#campaign .median { margin: 0 0 14px; }
#campaign .median .n { display: block; font-size: 26px; font-weight: 650; }
#campaign .h { color: var(--muted); font-size: 12px; }
#campaign ol { margin: 4px 0 0; padding-left: 20px; }
#campaign li { margin: 3px 0; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  #campaign .campaign { grid-template-columns: minmax(0, 1fr); }
  svg.burndown text { font-size: 18px; }  /* the chart is drawn at about half size */
}
"""
