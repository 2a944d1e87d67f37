"""The daily digest message (pure Block Kit builder) and the job that builds the day's digests.

`render_digest(summary, console_url)` turns a `core.digests.summary.DigestSummary` into `{"text", "blocks"}`:
a top-level fallback text, at most 50 blocks, every block validated by slack_sdk's models. The build job
(`digests.build`) stores one rendered message per subscription and day in the outbox; `core.digests.delivery`
sends it.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from core.digests.outbox import build_day
from core.digests.payloads import BuildDigests
from core.digests.summary import DigestSummary, RepositoryChange
from core.severity import at_or_above, rank

if TYPE_CHECKING:
    from core.services import Services


MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_CONNECTIONS = 10  # connection lines shown; the rest are counted
MAX_FINDINGS = 5
STATUS_WORDS = {
    "CONNECTED": "connected",
    "DEGRADED": "degraded",
    "DISCONNECTED": "disconnected",
    "PENDING_CONSENT": "waiting for admin consent",
    "CONSENT_GRANTED": "consent granted, not connected yet",
}


def escape(value: str) -> str:
    """Slack mrkdwn control characters, so names cannot inject links or mentions."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def clip(text: str, limit: int = MAX_SECTION) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "never"


def repositories_line(summary: DigestSummary) -> str:
    repos = summary.repositories
    line = f"{repos.total} {'repository' if repos.total == 1 else 'repositories'}"
    if repos.excluded:
        line += f" ({repos.excluded} not scanned)"
    return line


def fallback_text(summary: DigestSummary) -> str:
    repos = summary.repositories
    parts = [f"Panoptica digest {summary.day} ({summary.scope.label})", repositories_line(summary)]
    if summary.baseline:
        parts.append("baseline")
    else:
        parts.append(f"{repos.new_count} new, {repos.removed_count} removed")
    if summary.unhealthy:
        count = len(summary.unhealthy)
        parts.append(f"{plural(count, 'connection')} need{'s' if count == 1 else ''} attention")
    return ": ".join(parts[:2]) + (", " + ", ".join(parts[2:]) if parts[2:] else "")


def bounded(head: str, lines: list[str], total: int, more: str) -> str:
    """`head` and as many `lines` as fit in a section, then "…and N more …" for the `total - shown` others."""
    shown: list[str] = []
    for line in lines:
        rest = total - len(shown) - 1
        tail = f"\n…and {rest} {more}" if rest > 0 else ""
        candidate = "\n".join([head, *shown, clip(line, 500)])
        if len(candidate + tail) > MAX_SECTION:
            break
        shown.append(clip(line, 500))
    hidden = total - len(shown)
    return "\n".join([head, *shown] + ([f"…and {hidden} {more}"] if hidden > 0 else []))


def change_list(title: str, changes: tuple[RepositoryChange, ...], count: int) -> str:
    lines = [f"• {escape(c.organization)} / {escape(c.project)} / `{escape(c.name)}`" for c in changes]
    return bounded(f"*{title}* ({count})", lines, count, "more in the console")


def connection_lines(summary: DigestSummary) -> str:
    if not summary.connections:
        return "*Connections*\nNo Azure DevOps organization is connected in this scope."
    lines = []
    for health in summary.connections[:MAX_CONNECTIONS]:
        icon = ":white_check_mark:" if health.healthy else ":warning:"
        line = f"{icon} *{escape(health.organization)}*: {STATUS_WORDS.get(health.status, health.status.lower())}"
        line += f", verified {when(health.last_verified_at)}"
        if health.failing_checks:
            line += f"; failing: {escape(', '.join(health.failing_checks[:5]))}"
        lines.append(line)
    more = "more connection" + ("" if len(summary.connections) - len(lines) == 1 else "s") + " in the console"
    return bounded("*Connections*", lines, len(summary.connections), more)


def findings_blocks(summary: DigestSummary) -> list:
    findings = summary.findings
    if findings is None:
        return []
    shown = at_or_above(summary.min_severity)

    def counts(by: dict[str, int]) -> str:
        return ", ".join(f"{by[s]} {s.lower()}" for s in shown if by.get(s)) or "none"

    text = f"*Findings* (≥ {summary.min_severity.lower()}): new {counts(findings.new_by_severity)}; fixed {counts(findings.fixed_by_severity)}"
    if findings.new_in_history:
        count = findings.new_in_history
        text += f"\n{count} new secret{'' if count == 1 else 's'} found in history (rotate them: deleting is not enough)."
    blocks = [SectionBlock(text=MarkdownTextObject(text=clip(text)))]
    top = [f for f in findings.top_new if f.severity in shown][:MAX_FINDINGS]
    if top:
        lines = []
        for f in top:
            where = f"{escape(f.path)}:{f.line}" if f.line else escape(f.path)
            preview = f" ({escape(f.preview)})" if f.preview else ""
            lines.append(
                f"• *{f.severity.lower()}* {escape(f.title)}{preview} in `{escape(f.repository)}` `{where}`"
            )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip("\n".join(lines)))))
    if findings.baseline_repositories:
        baseline = ", ".join(
            f"{n} {s.lower()}"
            for s, n in sorted(findings.baseline_by_severity.items(), key=lambda item: rank(item[0]))
            if s in shown
        )
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=clip(
                        f"First scan of {findings.baseline_repositories} repositor"
                        f"{'y' if findings.baseline_repositories == 1 else 'ies'}: {baseline or 'nothing at this threshold'} "
                        "(baseline; see the console)."
                    )
                )
            )
        )
    if findings.failed_scans:
        failed = "\n".join(f"• {escape(line)}" for line in findings.failed_scans[:5])
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=clip(f"*Scans that failed or were partial*\n{failed}")))
        )
    return blocks


def baseline_findings_blocks(summary: DigestSummary) -> list:
    """First scans: one line of counts, never a list (a new repository must not flood the channel)."""
    findings = summary.findings
    if findings is None or not findings.baseline_repositories:
        return []
    shown = at_or_above(summary.min_severity)
    counts = ", ".join(
        f"{findings.baseline_by_severity[s]} {s.lower()}"
        for s in shown
        if findings.baseline_by_severity.get(s)
    )
    count = findings.baseline_repositories
    text = (
        f"First scan of {count} repositor{'y' if count == 1 else 'ies'}: {counts or 'nothing at this threshold'} "
        "(baseline; see the console)."
    )
    return [SectionBlock(text=MarkdownTextObject(text=clip(text)))]


def render_digest(summary: DigestSummary, console_url: str) -> dict:
    """Pure: the digest message as `{"text": fallback, "blocks": [...]}` (dicts, ready for chat.postMessage)."""
    repos = summary.repositories
    blocks: list = [
        HeaderBlock(text=clip(f"Panoptica daily digest · {summary.day}", 150)),
        ContextBlock(elements=[MarkdownTextObject(text=clip(f"Scope: *{escape(summary.scope.label)}*"))]),
    ]
    if summary.baseline:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*Baseline:* watching {repositories_line(summary)} in "
                    f"{plural(len(summary.connections), 'organization')}. "
                    "From the next digest on, this message lists what changed."
                )
            )
        )
        blocks += baseline_findings_blocks(summary)
    else:
        since = summary.since.strftime("%Y-%m-%d %H:%M UTC") if summary.since else "the last digest"
        headline = (
            f"*Repositories:* {repositories_line(summary)}; "
            f"{repos.new_count} new, {repos.removed_count} removed since {since}"
            if summary.has_changes
            else f"*Repositories:* {repositories_line(summary)}; no change since {since}"
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=headline)))
        if repos.new_count:
            blocks.append(
                SectionBlock(text=MarkdownTextObject(text=change_list("New", repos.new, repos.new_count)))
            )
        if repos.removed_count:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(text=change_list("Removed", repos.removed, repos.removed_count))
                )
            )
        blocks += findings_blocks(summary)
    blocks += [
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=connection_lines(summary))),
        ActionsBlock(
            block_id="digest_actions",
            elements=[
                ButtonElement(
                    text="Open in console", action_id="digest_open_console", url=f"{console_url}/findings"
                )
            ],
        ),
    ]
    # At most 12 blocks by construction (MAX_BLOCKS is Slack's limit); to_dict validates each block's limits.
    rendered = [block.to_dict() for block in blocks]
    return {"text": fallback_text(summary), "blocks": rendered}


async def build_digests(services: Services, payload: BuildDigests) -> None:
    """Builds the day's digests into the outbox (idempotent per subscription and day) and asks for delivery."""
    await build_day(services, payload.day, partial(render_digest, console_url=services.settings.public_url))
