const { exec, execFile } = require("child_process");
app.get("/ping", (req, res) => {
  // ruleid: CODE-JS-002
  exec("ping -c 1 " + req.query.host, (err, out) => res.send(out));
  // ok: CODE-JS-002
  execFile("ping", ["-c", "1", req.query.host], (err, out) => res.send(out));
});
