app.post("/calc", (req, res) => {
  // ruleid: CODE-JS-003
  const value = eval(req.body.expression);
  // ok: CODE-JS-003
  const data = JSON.parse(req.body.expression);
  res.json({ value, data });
});
