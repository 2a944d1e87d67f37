const jwt = require("jsonwebtoken");
function user(token) {
  // ruleid: CODE-JS-015
  return jwt.decode(token).sub;
}
function verified(token) {
  // ok: CODE-JS-015
  return jwt.verify(token, publicKey, { algorithms: ["RS256"] }).sub;
}
