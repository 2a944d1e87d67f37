const jwt = require("jsonwebtoken");
// ruleid: CODE-JS-016
const token = jwt.sign({ sub: "alice" }, "not-a-real-key-planted-for-rule-test");
// ok: CODE-JS-016
const fromEnv = jwt.sign({ sub: "alice" }, process.env.JWT_SIGNING_KEY);
