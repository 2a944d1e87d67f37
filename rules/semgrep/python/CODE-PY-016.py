from flask_cors import CORS

# ruleid: CODE-PY-016
CORS(app, supports_credentials=True)
# ok: CODE-PY-016
CORS(app)
