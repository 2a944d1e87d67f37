import json
import pickle


def load(data):
    # ruleid: CODE-PY-008
    obj = pickle.loads(data)
    # ok: CODE-PY-008
    safe = json.loads(data)
    return obj
