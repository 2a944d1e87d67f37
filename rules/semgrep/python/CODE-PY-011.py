import hashlib


def digest(data):
    # ruleid: CODE-PY-011
    weak = hashlib.md5(data).hexdigest()
    # ok: CODE-PY-011
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    # ok: CODE-PY-011
    return hashlib.sha256(data).hexdigest()
