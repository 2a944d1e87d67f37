"""Server-rendered pages: readable without JavaScript, accessible, everything escaped, no inline secrets."""

from __future__ import annotations

from html import escape

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Arial,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b;line-height:1.5}
h1{font-size:1.6rem}ol li{margin:.4rem 0}
.PASS{color:#0a6b2d}.FAIL{color:#b00020}.WARN{color:#8a5a00}.SKIPPED{color:#555}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ddd;
vertical-align:top;overflow-wrap:anywhere}.code{color:#555;font-size:.8rem}
button{font-size:1rem;padding:.5rem 1.2rem}
.notice{padding:.8rem;border-left:4px solid #b00020;background:#fff4f4}
.ok{padding:.8rem;border-left:4px solid #0a6b2d;background:#f3fbf5}
"""


def page(title: str, body: str) -> str:
    """`body` is trusted markup built from escaped values; `title` is escaped here."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Panoptica</title><style>{STYLE}</style></head>"
        f'<body><main id="main">{body}</main></body></html>'
    )


def e(value) -> str:
    return escape(str(value), quote=True)


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"
