app.get("/done", (req, res) => {
  // ruleid: CODE-JS-007
  res.redirect(req.query.next);
  // ok: CODE-JS-007
  res.redirect("/home");
});
