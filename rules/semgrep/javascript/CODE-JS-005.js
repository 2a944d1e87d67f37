app.get("/hello", (req, res) => {
  // ruleid: CODE-JS-005
  res.send("<p>Hello " + req.query.name + "</p>");
  // ok: CODE-JS-005
  res.send("<p>Hello " + escapeHtml(req.query.name) + "</p>");
});
function show() {
  // ruleid: CODE-JS-005
  document.getElementById("out").innerHTML = location.hash;
}
