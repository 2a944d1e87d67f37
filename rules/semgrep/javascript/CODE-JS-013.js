app.post("/login", (req, res) => {
  // ruleid: CODE-JS-013
  res.cookie("session", id);
  // ruleid: CODE-JS-013
  res.cookie("session", id, { httpOnly: true });
  // ok: CODE-JS-013
  res.cookie("session", id, { secure: true, httpOnly: true, sameSite: "strict" });
});
