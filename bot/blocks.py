"""Block Kit builders: pure functions from data to `{"text", "blocks"}` (slack_sdk models validate limits)."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from core.errors import DomainError, RateLimited
from core.slack.commands import USAGE

ICONS = {"PASS": ":white_check_mark:", "FAIL": ":x:", "WARN": ":warning:", "SKIPPED": ":heavy_minus_sign:"}
MAX_SECTION = 2900


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: names cannot inject mentions or links."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(text: str, blocks: list) -> dict:
    return {"text": text[:3000], "blocks": [b.to_dict() for b in blocks]}


def section(markdown: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=markdown[:MAX_SECTION]))


def plain(text: str) -> dict:
    return message(text, [section(text)])


def refusal(error: DomainError) -> dict:
    """Slack's one mapping of the domain's refusals (core/errors.py): the message as is, marked as a refusal;
    a rate limit is a wait, not a mistake."""
    icon = ":hourglass:" if isinstance(error, RateLimited) else ":x:"
    return plain(f"{icon} {error.message}")


def help_message() -> dict:
    lines = "\n".join(f"• {line}" for line in USAGE.values())
    return message("Panoptica commands", [HeaderBlock(text="Panoptica commands"), section(lines)])


def not_linked(console_url: str) -> dict:
    return plain(
        "This Slack workspace is not linked to a Panoptica account yet. In the console, create a Slack link "
        f"code (<{console_url}/settings|open the console's Settings>), then type `/panoptica link CODE` here (workspace admins only)."
    )


def not_admin() -> dict:
    return plain(
        "Only Slack workspace admins and owners, or people your Panoptica admins allowed, can change this. "
        "Everyone can use `status`, `posture`, `repos` and `subscriptions`."
    )


def connect_started(organization: str, sign_in_url: str) -> dict:
    return message(
        f"Sign in as an administrator of {organization} to connect it",
        [
            section(
                f"*Connecting Azure DevOps organization `{escape(organization)}`*\n"
                "1. An administrator of the organization (Project Collection Administrators) signs in with "
                "Microsoft (the button below), then approves the app in Microsoft Entra ID.\n"
                "2. You then add the service principal to the organization; I will tell you how."
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Sign in and approve",
                        url=sign_in_url[:3000],
                        action_id="open_consent",
                        style="primary",
                    )
                ]
            ),
        ],
    )


def consent_followup(organization: str, connection_id: str, service_principal_name: str) -> dict:
    steps = (
        f"*Consent granted for `{escape(organization)}`.* Next, in Azure DevOps:\n"
        f"1. Open https://dev.azure.com/{escape(organization)}/_settings/users (Organization settings → Users).\n"
        f"2. *Add users*, type *{escape(service_principal_name)}* and pick the application.\n"
        "3. Access level *Basic* (Stakeholder cannot read code).\n"
        "4. Add it to the projects to scan, group *Project Contributors*.\n"
        "Then press *Check connection*."
    )
    return message(
        f"Consent granted for {organization}: add the service principal, then check",
        [
            section(steps),
            ActionsBlock(elements=[check_button(connection_id)]),
        ],
    )


def check_button(connection_id: str) -> ButtonElement:
    return ButtonElement(text="Check connection", action_id="check_connection", value=connection_id)


def check_result(
    organization: str, connection_id: str, ok: bool, checks: list[dict], projects: int, repositories: int
) -> dict:
    if ok:
        return plain(
            f":white_check_mark: `{escape(organization)}` is connected: {projects} project(s) and "
            f"{repositories} repositories found."
        )
    rows = [
        f"{ICONS.get(c['status'], '')} *{escape(c['code'])}*: {escape(c['message'])}"
        + (
            f"\n    _Fix:_ {escape(c['remediation'])}"
            if c["status"] in ("FAIL", "WARN") and c.get("remediation")
            else ""
        )
        for c in checks
    ]
    return message(
        f"{organization} is not connected yet",
        [
            section(
                f"*`{escape(organization)}` is not connected yet.* Fix the first failing check, then check again."
            ),
            section("\n".join(rows)),
            ActionsBlock(elements=[check_button(connection_id)]),
        ],
    )


def status(connections: list, problems: dict | None = None) -> dict:
    """`problems`: per connection id, core.slack.feedback.ScanProblems (repositories whose latest scan failed
    or was partial)."""
    problems = problems or {}
    if not connections:
        return plain(
            "No Azure DevOps organization is connected yet. Try `/panoptica connect azure <organization>`."
        )
    blocks: list[Block] = [HeaderBlock(text="Connections")]
    for view in connections[:20]:
        c = view.connection
        failing = [x["code"] for x in c.checks or [] if x["status"] == "FAIL"]
        verified = c.last_verified_at.strftime("%Y-%m-%d %H:%M UTC") if c.last_verified_at else "never"
        text = (
            f"*{escape(c.organization)}*: {c.status} · last verified {verified} · "
            f"{view.repository_count} repositories"
        )
        if failing:
            text += f"\nFailing: {', '.join(failing)}"
        if (trouble := problems.get(getattr(c, "id", None))) is not None:
            text += f"\n:warning: Latest scan failed for {trouble.failed}, partial for {trouble.partial} repositories"
            for name, state, reason in trouble.examples:
                text += f"\n• `{escape(name)}` {state.lower()}: {escape(reason[:200])}"
        blocks.append(section(text))
    return message("Connections", blocks)


def scan_outcome(outcome, console_url: str) -> dict:
    """A `/panoptica scan` that ended (core.slack.feedback.ScanOutcome)."""
    name = escape(outcome.repository)
    open_ = ", ".join(f"{n} {s.lower()}" for s, n in outcome.open_by_severity.items()) or "none"
    counts = f"{outcome.new_findings} new, {outcome.fixed_findings} fixed; open now: {open_}"
    if outcome.status == "SUCCEEDED":
        text = f":white_check_mark: Scan of `{name}` finished: {counts}."
    elif outcome.status == "PARTIAL":
        text = f":warning: Scan of `{name}` is partial ({escape(outcome.reason[:300])}): {counts}."
    elif outcome.status == "FAILED":
        text = f":x: Scan of `{name}` failed: {escape(outcome.reason[:300])}."
    else:
        text = f":hourglass: Scan of `{name}` is still {outcome.status.lower()} after a day; see the console."
    link = f"<{console_url}/findings|Open in console>"
    return message(text, [section(text), ContextBlock(elements=[MarkdownTextObject(text=link)])])


def posture(overview: list, console_url: str) -> dict:
    if not overview:
        return plain("No Azure DevOps organization is connected yet.")
    blocks: list[Block] = [HeaderBlock(text="CI/CD posture")]
    for item in overview[:20]:
        if item.latest_run is None or not item.counts:
            blocks.append(section(f"*{escape(item.organization)}*: not evaluated yet."))
            continue
        counts = item.counts
        text = (
            f"*{escape(item.organization)}*: {counts.get('FAIL', 0)} failed · {counts.get('PASS', 0)} passed · "
            f"{counts.get('NOT_EVALUATED', 0)} not evaluated"
        )
        worst = [f"• {escape(cid)} {escape(title)} ({n})" for cid, title, n in item.worst[:5]]
        blocks.append(section("\n".join([text, *worst])))
    blocks.append(section(f"<{console_url}/posture|Open in console> for every result and its remediation."))
    return message("CI/CD posture", blocks)


def repositories(page, console_url: str) -> dict:
    if not page.items:
        return plain("No repositories match.")
    lines = [
        f"• <{r.web_url}|{escape(r.project_name)}/{escape(r.name)}>"
        if r.web_url
        else f"• {escape(r.project_name)}/{escape(r.name)}"
        for r in page.items
    ]
    more = (
        f"\n…and {page.total_count - len(page.items)} more in the <{console_url}/repositories|console>."
        if page.total_count > len(page.items)
        else ""
    )
    return message(
        f"{page.total_count} repositories",
        [
            section(f"*{page.total_count} repositories*"),
            section("\n".join(lines) + more),
        ],
    )


def subscriptions(rows: list, digest_time: str = "09:00", next_at=None) -> dict:
    if not rows:
        return plain("No digest subscriptions in this workspace. Try `/panoptica subscribe`.")
    lines = []
    for s in rows:
        scope = f"{s.organization}/{s.project}" if s.project else s.organization or "all organizations"
        state = f" (disabled: {escape(s.disabled_reason)})" if s.disabled_at else ""
        lines.append(f"• <#{s.channel_id}>: {escape(scope)}, severity ≥ {s.min_severity}{state}")
    return message(
        "Digest subscriptions",
        [
            section("*Digest subscriptions*\n" + "\n".join(lines)),
            ContextBlock(elements=[MarkdownTextObject(text=sent_at(digest_time, next_at))]),
            DividerBlock(),
        ],
    )


def sent_at(digest_time: str, next_at) -> str:
    text = f"Sent daily at {digest_time} UTC, with the findings at or above each threshold"
    return text + (f" (next: {next_at:%Y-%m-%d %H:%M} UTC)." if next_at is not None else ".")
