from Crypto.Cipher import AES, DES


def encrypt(key, data):
    # ruleid: CODE-PY-012
    weak = DES.new(key, DES.MODE_CBC)
    # ruleid: CODE-PY-012
    ecb = AES.new(key, AES.MODE_ECB)
    # ok: CODE-PY-012
    gcm = AES.new(key, AES.MODE_GCM)
    return gcm.encrypt(data)
