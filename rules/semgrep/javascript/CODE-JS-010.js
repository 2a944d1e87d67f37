const crypto = require("crypto");
// ruleid: CODE-JS-010
const etag = crypto.createHash("md5").update(body).digest("hex");
// ok: CODE-JS-010
const digest = crypto.createHash("sha256").update(body).digest("hex");
