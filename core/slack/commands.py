"""`/panoptica <subcommand>`: a pure parser. Unknown or malformed input gets the usage of the closest command."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from core.severity import ORDER

SEVERITIES = ORDER  # most severe first (core/severity.py)
USAGE = {
    "help": "`/panoptica help` - the commands",
    "link": "`/panoptica link CODE` - link this workspace to your Panoptica account (code from the console)",
    "connect": "`/panoptica connect azure <organization or URL> [move]` - connect an Azure DevOps organization (an administrator of it signs in)",
    "status": "`/panoptica status [organization]` - connections, last verification, failing checks",
    "posture": "`/panoptica posture [organization]` - CI/CD posture: failed and unevaluated controls",
    "repos": "`/panoptica repos [organization[/project]] [search]` - repository counts and the first repositories",
    "subscribe": "`/panoptica subscribe [#channel] [organization[/project]] [severity>=LEVEL]` - daily digests",
    "unsubscribe": "`/panoptica unsubscribe [#channel] [organization[/project]|all]` - stop daily digests",
    "subscriptions": "`/panoptica subscriptions` - where daily digests go",
    "scan": "`/panoptica scan <repository>` - scan a repository now",
}
CHANNEL = re.compile(r"^<#(C[A-Z0-9]+)(?:\|[^>]*)?>$|^#([a-z0-9._-]+)$", re.IGNORECASE)
THRESHOLD = re.compile(r"^severity\s*>=\s*([a-z]+)$", re.IGNORECASE)
SCOPE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]{0,49})(?:/(.{1,64}))?$")


@dataclass
class Command:
    name: str
    args: dict = field(default_factory=dict)


@dataclass
class Usage:
    """Input we could not understand: what to show instead."""

    message: str


def parse(text: str) -> Command | Usage:
    words = (text or "").strip().split()
    if not words:
        return Command("help")
    name, rest = words[0].lower(), words[1:]
    parser = PARSERS.get(name)
    if parser is None:
        closest = difflib.get_close_matches(name, USAGE, n=1)
        hint = USAGE[closest[0]] if closest else USAGE["help"]
        return Usage(f"Unknown command `{name[:30]}`. Did you mean: {hint}")
    return parser(rest)


def usage(name: str, problem: str = "") -> Usage:
    return Usage((f"{problem} " if problem else "") + f"Usage: {USAGE[name]}")


def parse_help(rest: list[str]) -> Command | Usage:
    return Command("help")


def parse_link(rest: list[str]) -> Command | Usage:
    if len(rest) != 1 or not re.fullmatch(r"[A-Za-z0-9-]{6,20}", rest[0]):
        return usage("link")
    return Command("link", {"code": rest[0].upper()})


def parse_connect(rest: list[str]) -> Command | Usage:
    move = len(rest) == 3 and rest[2].lower() == "move"  # take it over from another account (admins only)
    if move:
        rest = rest[:2]
    if len(rest) != 2 or rest[0].lower() != "azure":
        return usage(
            "connect",
            "Only Azure DevOps can be connected from Slack yet."
            if rest and rest[0].lower() in ("github", "gitlab", "bitbucket")
            else "",
        )
    return Command("connect", {"organization": rest[1].strip("<>").split("|")[0], "move": move})


def parse_status(rest: list[str]) -> Command | Usage:
    if len(rest) > 1:
        return usage("status")
    return Command("status", {"organization": rest[0].lower() if rest else None})


def parse_posture(rest: list[str]) -> Command | Usage:
    if len(rest) > 1:
        return usage("posture")
    return Command("posture", {"organization": rest[0].lower() if rest else None})


def parse_repos(rest: list[str]) -> Command | Usage:
    if len(rest) > 2:
        return usage("repos")
    args: dict = {"organization": None, "project": None, "search": None}
    if rest:
        scope = SCOPE.match(rest[0])
        if scope and (len(rest) == 2 or "/" in rest[0]):
            args["organization"], args["project"] = scope.group(1).lower(), scope.group(2)
            rest = rest[1:]
        elif scope and len(rest) == 1:
            args["organization"] = scope.group(1).lower()
            rest = []
    if rest:
        args["search"] = rest[0][:100]
    return Command("repos", args)


def channel_and_scope(name: str, rest: list[str], allow_all: bool) -> dict | Usage:
    args: dict = {
        "channel": None,
        "channel_name": None,
        "organization": "",
        "project": "",
        "min_severity": "HIGH",
        "all": False,
    }
    for word in rest:
        channel, threshold, scope = CHANNEL.match(word), THRESHOLD.match(word), SCOPE.match(word)
        if channel:
            args["channel"], args["channel_name"] = channel.group(1), channel.group(2)
        elif threshold and name == "subscribe":
            level = threshold.group(1).upper()
            if level not in SEVERITIES:
                return usage(name, f"Severity must be one of {', '.join(SEVERITIES)}.")
            args["min_severity"] = level
        elif word.lower() == "all":
            args["all"] = allow_all  # subscribe: "all" is the default scope, every organization
        elif scope and not args["organization"]:
            args["organization"], args["project"] = scope.group(1).lower(), scope.group(2) or ""
        else:
            return usage(name)
    return args


def parse_subscribe(rest: list[str]) -> Command | Usage:
    args = channel_and_scope("subscribe", rest, allow_all=False)
    return args if isinstance(args, Usage) else Command("subscribe", args)


def parse_unsubscribe(rest: list[str]) -> Command | Usage:
    args = channel_and_scope("unsubscribe", rest, allow_all=True)
    return args if isinstance(args, Usage) else Command("unsubscribe", args)


def parse_subscriptions(rest: list[str]) -> Command | Usage:
    return Command("subscriptions") if not rest else usage("subscriptions")


def parse_scan(rest: list[str]) -> Command | Usage:
    if len(rest) != 1:
        return usage("scan")
    return Command("scan", {"repository": rest[0][:300]})


PARSERS = {
    "help": parse_help,
    "link": parse_link,
    "connect": parse_connect,
    "status": parse_status,
    "posture": parse_posture,
    "repos": parse_repos,
    "subscribe": parse_subscribe,
    "unsubscribe": parse_unsubscribe,
    "subscriptions": parse_subscriptions,
    "scan": parse_scan,
}
