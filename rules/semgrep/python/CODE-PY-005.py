import html
from flask import request, make_response


def hello():
    name = request.args["name"]
    # ruleid: CODE-PY-005
    page = make_response("<p>Hello " + name + "</p>")
    # ok: CODE-PY-005
    safe = make_response("<p>Hello " + html.escape(name) + "</p>")
    return page
