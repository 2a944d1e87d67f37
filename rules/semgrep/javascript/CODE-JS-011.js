const crypto = require("crypto");
// ruleid: CODE-JS-011
const weak = crypto.createCipheriv("des-ede3-cbc", key, iv);
// ruleid: CODE-JS-011
const ecb = crypto.createCipheriv("aes-128-ecb", key, null);
// ok: CODE-JS-011
const gcm = crypto.createCipheriv("aes-256-gcm", key, iv);
