import os
from flask import request, send_file


def download():
    name = request.args["name"]
    # ruleid: CODE-PY-004
    return send_file("/srv/reports/" + name)


def download_safe():
    # ok: CODE-PY-004
    return send_file(os.path.join("/srv/reports", os.path.basename(request.args["name"])))
