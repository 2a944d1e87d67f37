import jwt


def user(token):
    # ruleid: CODE-PY-017
    return jwt.decode(token, options={"verify_signature": False})["sub"]


def verified(token):
    # ok: CODE-PY-017
    return jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"])["sub"]
