const libxmljs = require("libxmljs");
// ruleid: CODE-JS-017
const doc = libxmljs.parseXml(body, { noent: true });
// ok: CODE-JS-017
const safe = libxmljs.parseXml(body, { nonet: true });
