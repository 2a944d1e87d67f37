from flask import request, redirect, url_for


def done():
    # ruleid: CODE-PY-007
    return redirect(request.args["next"])


def home():
    # ok: CODE-PY-007
    return redirect(url_for("index"))
