app.get("/preview", async (req, res) => {
  // ruleid: CODE-JS-006
  const page = await fetch(req.query.url);
  // ok: CODE-JS-006
  const fixed = await fetch("https://status.contoso.example/");
  res.send(await page.text());
});
