import os
import jwt


def token_for(user):
    # ruleid: CODE-PY-018
    return jwt.encode({"sub": user}, "not-a-real-key-planted-for-rule-test", algorithm="HS256")


def token_from_env(user):
    # ok: CODE-PY-018
    return jwt.encode({"sub": user}, os.environ["JWT_SIGNING_KEY"], algorithm="HS256")
