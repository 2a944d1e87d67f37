"""A Slack you can see: the emulated workspace as a web page at the `slack` host's `/`.

Channels and direct messages list every message the app posted (chat.postMessage, chat.postEphemeral,
chat.update and response_url posts, all read from `context.slack_calls`), with Block Kit rendered readably
(headers, sections and fields, context lines, buttons, dividers; mrkdwn bold, code, links, channel and user
mentions). A box sends `/panoptica ...` as the chosen person, as Slack does: a form-encoded slash command signed
with the app's signing secret (`v0` HMAC-SHA256), posted to `context.slack_app["url"]` (`make run` wires it to
the service's /slack/events); the app's acknowledgement is shown as Slack shows it, only to that person.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import time
import uuid
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;display:flex;min-height:100vh;color:#1d1c1d}
nav{background:#3f0e40;color:#fff;width:230px;padding:12px}nav a{color:#fff;display:block;padding:3px 8px;
text-decoration:none;border-radius:4px}nav a.on{background:#1164a3}nav h2{font-size:16px}nav h3{font-size:13px;
opacity:.7;margin:14px 0 4px}main{flex:1;display:flex;flex-direction:column;max-width:900px}
#log{flex:1;padding:12px 20px}.msg{border-bottom:1px solid #eee;padding:8px 0}.who{font-weight:700}
.when{color:#616061;font-size:12px;margin-left:6px}.eph{background:#f8f8f8;border-left:3px solid #1264a3;
padding-left:8px}.note{color:#616061;font-size:12px}.ctx{color:#616061;font-size:13px}
.btn{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:2px 10px;margin:4px 6px 0 0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px}form{padding:12px 20px;border-top:1px solid #ddd;
display:flex;gap:8px}form input[name=text]{flex:1;padding:8px}code{background:#f4f4f4;padding:0 3px}
"""


def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def mrkdwn(text: str, names: dict[str, str]) -> str:
    """Slack's mrkdwn, readably: escaped first, then links, mentions, *bold*, `code`, line breaks."""
    out = html.escape(str(text), quote=True)

    def link(match: re.Match) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("#"):
            return "#" + html.escape(label or names.get(target[1:], target[1:]))
        if target.startswith("@"):
            return "@" + html.escape(label or names.get(target[1:], target[1:]))
        if target.startswith(("http://", "https://")):
            return f'<a href="{target}" target="_blank" rel="noopener">{label or target}</a>'
        return match.group(0)

    out = re.sub(r"&lt;([^&]+?)&gt;", link, out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", out)
    out = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", out)
    return out.replace("\n", "<br>")


def text_of(item, names) -> str:
    if isinstance(item, dict):
        return mrkdwn(item.get("text", ""), names)
    return mrkdwn(item or "", names)


def render_blocks(blocks: list, fallback: str, names: dict[str, str]) -> str:
    if not blocks:
        return f"<div>{mrkdwn(fallback, names)}</div>"
    parts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            parts.append(f"<h3>{text_of(block.get('text'), names)}</h3>")
        elif kind == "section":
            if block.get("text"):
                parts.append(f"<div>{text_of(block['text'], names)}</div>")
            if block.get("fields"):
                cells = "".join(f"<div>{text_of(f, names)}</div>" for f in block["fields"])
                parts.append(f'<div class="fields">{cells}</div>')
            if block.get("accessory"):
                parts.append(button(block["accessory"], names))
        elif kind == "context":
            parts.append(
                '<div class="ctx">'
                + " ".join(text_of(e, names) for e in block.get("elements", []))
                + "</div>"
            )
        elif kind == "actions":
            parts.append("<div>" + "".join(button(e, names) for e in block.get("elements", [])) + "</div>")
        elif kind == "divider":
            parts.append("<hr>")
        else:
            parts.append(f'<div class="note">[{html.escape(str(kind))} block]</div>')
    return "".join(parts)


def button(element: dict, names: dict[str, str]) -> str:
    label = text_of(element.get("text"), names)
    if element.get("url"):
        return (
            f'<a class="btn" href="{html.escape(element["url"])}" target="_blank" rel="noopener">{label}</a>'
        )
    action = html.escape(str(element.get("action_id", "")))
    return f'<span class="btn" title="action {action}">{label}</span>'


def timeline(context, typed: dict[str, dict]) -> list[dict]:
    """Every message the app posted, oldest first: {"where", "to" (one person, or None), "at", "blocks", "text"}."""
    entries = []
    for call in list(context.slack_calls):
        if not call.get("ok"):
            continue
        body = call.get("body") or {}
        method = call["method"]
        if method in ("chat.postMessage", "chat.update"):
            where, to = str(body.get("channel", "")), None
        elif method == "chat.postEphemeral":
            where, to = str(body.get("channel", "")), str(body.get("user", ""))
        elif method == "response_url":
            origin = typed.get(call.get("response_id", ""))
            if origin is None:
                continue
            where, to = origin["channel"], origin["user"]
        else:
            continue
        blocks = body.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks or "[]")
        note = " (edited)" if method == "chat.update" else ""
        entries.append(
            {
                "where": where,
                "to": to,
                "at": call["at"],
                "blocks": blocks,
                "text": body.get("text", ""),
                "note": note,
            }
        )
    for origin in typed.values():
        entries.append({**origin["command"], "to": origin["user"]})
        if origin.get("ack"):
            entries.append(origin["ack"])
    return sorted(entries, key=lambda e: e["at"])


def page(context, typed: dict[str, dict], where: str, person: str, notice: str = "") -> str:
    slack = context.world.slack
    names = {cid: c.get("name", cid) for cid, c in slack.channels.items()}
    names.update({uid: u.get("name", uid) for uid, u in slack.users.items()})
    where = where if where in names else next(iter(slack.channels), "")
    person = person if person in slack.users else next(iter(slack.users), "")
    channel_links = "".join(
        f'<a class="{"on" if cid == where else ""}" href="/?channel={cid}&amp;user={person}">#'
        f"{html.escape(c.get('name', cid))}</a>"
        for cid, c in slack.channels.items()
    )
    dm_links = "".join(
        f'<a class="{"on" if uid == where else ""}" href="/?channel={uid}&amp;user={person}">'
        f"{html.escape(u.get('name', uid))}</a>"
        for uid, u in slack.users.items()
    )
    rows = []
    for entry in timeline(context, typed):
        if entry["where"] != where or (entry["to"] is not None and entry["to"] != person):
            continue
        who = html.escape(entry.get("who", "Panoptica"))
        when = time.strftime("%H:%M:%S", time.localtime(entry["at"]))
        edited = html.escape(entry.get("note", ""))
        body = entry.get("html") or render_blocks(entry.get("blocks") or [], entry.get("text", ""), names)
        header = f'<span class="who">{who}</span><span class="when">{when}{edited}</span>'
        if entry["to"]:
            header = '<div class="note">Only visible to you</div>' + header
        rows.append(f'<div class="msg{" eph" if entry["to"] else ""}">{header}{body}</div>')
    people = "".join(
        f'<option value="{uid}"{" selected" if uid == person else ""}>{html.escape(u.get("name", uid))}'
        f"{' (workspace admin)' if u.get('is_admin') or u.get('is_owner') else ''}</option>"
        for uid, u in slack.users.items()
    )
    wired = context.slack_app.get("url")
    form = (
        f'<form method="post" action="/type"><input type="hidden" name="channel" value="{where}">'
        f'<select name="user" aria-label="as">{people}</select>'
        '<input name="text" aria-label="command" autofocus placeholder="/panoptica help" value="/panoptica ">'
        "<button>Send</button></form>"
        if wired
        else '<p class="note" style="padding:12px 20px">No app is wired to this workspace (make run wires it).</p>'
    )
    title = (
        f"#{names.get(where, where)}"
        if where in slack.channels
        else f"Direct messages: {names.get(where, where)}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(slack.team_name)} Slack (emulated)"
        f"</title><style>{STYLE}</style></head><body><nav><h2>{html.escape(slack.team_name)} (emulated)</h2>"
        f"<h3>Channels</h3>{channel_links}<h3>Direct messages</h3>{dm_links}</nav><main>"
        f'<h1 style="font-size:18px;padding:0 20px">{html.escape(title)} '
        f'<a style="font-size:13px" href="/?channel={where}&amp;user={person}">refresh</a></h1>'
        f"{f'<p class=note style=padding:0 20px>{html.escape(notice)}</p>' if notice else ''}"
        f'<div id="log">{"".join(rows) or "<p class=note>No messages yet.</p>"}</div>{form}</main></body></html>'
    )


def add_routes(context, routes: list, response_url) -> None:
    """The page and the command box, on the `slack` host's app (sandbox/slack.py)."""
    typed: dict[str, dict] = {}  # response id -> the command typed, who typed it where, and the app's ack

    async def show(request: Request) -> Response:
        with context.holder.lock:
            text = page(
                context,
                typed,
                request.query_params.get("channel", ""),
                request.query_params.get("user", ""),
                request.query_params.get("notice", ""),
            )
        return HTMLResponse(text)

    async def type_command(request: Request) -> Response:
        form = await request.form()
        user, channel = str(form.get("user", "")), str(form.get("channel", ""))
        text = str(form.get("text", "")).strip()
        with context.holder.lock:
            slack = context.world.slack
            known = user in slack.users and (channel in slack.channels or channel in slack.users)
            team_id, domain = slack.team_id, slack.domain
            name = slack.users.get(user, {}).get("name", user)
        back = f"/?channel={channel}&user={user}"
        if not known or not text.startswith("/panoptica") or not context.slack_app.get("url"):
            return RedirectResponse(
                back + "&notice=Type+%2Fpanoptica+followed+by+a+command.", status_code=303
            )
        response_id = uuid.uuid4().hex
        payload = {
            "command": "/panoptica",
            "text": text.removeprefix("/panoptica").strip(),
            "team_id": team_id,
            "team_domain": domain,
            "user_id": user,
            "user_name": name,
            "channel_id": channel,
            "response_url": response_url(context, response_id),
            "trigger_id": f"trigger-{uuid.uuid4().hex}",
        }
        body = urlencode(payload)
        stamp = str(int(time.time()))
        now = time.time()
        typed[response_id] = {
            "user": user,
            "channel": channel,
            "command": {
                "where": channel,
                "at": now,
                "who": name,
                "html": f"<code>{html.escape(text)}</code>",
            },
        }
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": sign(context.slack_app["signing_secret"], stamp, body),
        }
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(context.slack_app["url"], content=body, headers=headers)
            ack = answer.json() if answer.content and answer.status_code == 200 else None
            problem = "" if answer.status_code == 200 else f"the app answered HTTP {answer.status_code}"
        except (httpx.HTTPError, ValueError) as error:
            ack, problem = None, f"the app did not answer ({type(error).__name__})"
        if ack and (ack.get("text") or ack.get("blocks")):
            typed[response_id]["ack"] = {
                "where": channel,
                "to": user,
                "at": time.time(),
                "blocks": ack.get("blocks"),
                "text": ack.get("text", ""),
            }
        return RedirectResponse(back + (f"&notice={problem}" if problem else ""), status_code=303)

    from starlette.routing import Route

    routes += [Route("/", show, methods=["GET"]), Route("/type", type_command, methods=["POST"])]
