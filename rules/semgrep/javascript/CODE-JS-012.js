function newResetToken() {
  // ruleid: CODE-JS-012
  return Math.random().toString(36).slice(2);
}
function newApiKey() {
  // ok: CODE-JS-012
  return require("crypto").randomBytes(32).toString("hex");
}
function jitter() {
  // ok: CODE-JS-012
  return Math.random() * 100;
}
