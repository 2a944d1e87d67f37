def login(response, sid):
    # ruleid: CODE-PY-015
    response.set_cookie("session", sid)
    # ruleid: CODE-PY-015
    response.set_cookie("session", sid, httponly=True)
    # ok: CODE-PY-015
    response.set_cookie("session", sid, secure=True, httponly=True, samesite="Strict")
