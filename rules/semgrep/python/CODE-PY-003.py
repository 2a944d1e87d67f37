from flask import request, render_template_string


def calc():
    # ruleid: CODE-PY-003
    value = eval(request.args["expression"])
    # ruleid: CODE-PY-003
    page = render_template_string("<p>Hello " + request.args["name"] + "</p>")
    # ok: CODE-PY-003
    safe = render_template_string("<p>Hello {{ name }}</p>", name=request.args["name"])
    return page
