const serialize = require("node-serialize");
app.post("/import", (req, res) => {
  // ruleid: CODE-JS-008
  const obj = serialize.unserialize(req.body.data);
  // ok: CODE-JS-008
  const data = JSON.parse(req.body.data);
  res.json(obj);
});
