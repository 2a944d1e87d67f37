import requests


def fetch(url):
    # ruleid: CODE-PY-013
    insecure = requests.get(url, verify=False, timeout=5)
    # ok: CODE-PY-013
    return requests.get(url, verify="/etc/ssl/contoso-ca.pem", timeout=5)
