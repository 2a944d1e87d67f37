const cors = require("cors");
// ruleid: CODE-JS-014
app.use(cors({ origin: true, credentials: true }));
// ok: CODE-JS-014
app.use(cors({ origin: ["https://app.contoso.example"], credentials: true }));
