import ldap.filter
from flask import request


def lookup():
    user = request.args["user"]
    # ruleid: CODE-PY-019
    conn.search_s("ou=people", 2, "(uid=" + user + ")")
    # ok: CODE-PY-019
    conn.search_s("ou=people", 2, "(uid=%s)" % ldap.filter.escape_filter_chars(user))
