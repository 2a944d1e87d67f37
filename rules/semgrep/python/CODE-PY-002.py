import os
import subprocess
from flask import request


def ping():
    host = request.args["host"]
    # ruleid: CODE-PY-002
    os.system("ping -c 1 " + host)
    # ruleid: CODE-PY-002
    subprocess.run("ping -c 1 " + host, shell=True)
    # ok: CODE-PY-002
    subprocess.run(["ping", "-c", "1", host])
