import requests
from flask import request


def preview():
    url = request.args["url"]
    # ruleid: CODE-PY-006
    page = requests.get(url, timeout=5)
    if url in ALLOWED:
        # ok: CODE-PY-006
        requests.get(url, timeout=5)
    return page.text
