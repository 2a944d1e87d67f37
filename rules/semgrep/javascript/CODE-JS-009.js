const https = require("https");
// ruleid: CODE-JS-009
const agent = new https.Agent({ rejectUnauthorized: false });
// ok: CODE-JS-009
const pinned = new https.Agent({ ca: caPem });
// ruleid: CODE-JS-009
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
