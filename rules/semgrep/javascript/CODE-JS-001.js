app.get("/users", async (req, res) => {
  // ruleid: CODE-JS-001
  const rows = await pool.query("SELECT * FROM users WHERE name = '" + req.query.name + "'");
  // ok: CODE-JS-001
  const safe = await pool.query("SELECT * FROM users WHERE name = $1", [req.query.name]);
  // ok: CODE-JS-001
  const byId = await pool.query("SELECT * FROM users WHERE id = " + parseInt(req.params.id, 10));
  res.json(rows);
});
