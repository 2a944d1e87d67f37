const fs = require("fs");
const path = require("path");
app.get("/files/:name", (req, res) => {
  // ruleid: CODE-JS-004
  res.sendFile("/srv/files/" + req.params.name);
  // ok: CODE-JS-004
  fs.readFile(path.join("/srv/files", path.basename(req.params.name)), (e, d) => res.send(d));
});
