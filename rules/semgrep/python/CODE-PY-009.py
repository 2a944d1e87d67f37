import yaml


def import_rules(body):
    # ruleid: CODE-PY-009
    rules = yaml.load(body, Loader=yaml.Loader)
    # ok: CODE-PY-009
    safe = yaml.safe_load(body)
    # ok: CODE-PY-009
    also_safe = yaml.load(body, Loader=yaml.SafeLoader)
    return rules
