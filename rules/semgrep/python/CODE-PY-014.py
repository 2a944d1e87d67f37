import random
import secrets


def new_reset_token():
    # ruleid: CODE-PY-014
    return "".join(random.choice("abcdef0123456789") for _ in range(32))


def new_api_key():
    # ok: CODE-PY-014
    return secrets.token_urlsafe(32)


def shuffle_cards(cards):
    # ok: CODE-PY-014
    random.shuffle(cards)
