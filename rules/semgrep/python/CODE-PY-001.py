from flask import request


def find():
    name = request.args.get("name")
    # ruleid: CODE-PY-001
    cursor.execute("SELECT * FROM users WHERE name = '%s'" % name)
    # ok: CODE-PY-001
    cursor.execute("SELECT * FROM users WHERE name = %s", (name,))
    # ok: CODE-PY-001
    cursor.execute("SELECT * FROM users WHERE id = " + str(int(request.args["id"])))
