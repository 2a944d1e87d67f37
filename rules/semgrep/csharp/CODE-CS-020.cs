using System.Web.Mvc;

public class CommentsController : Controller
{
    // ruleid: CODE-CS-020
    [ValidateInput(false)]
    public ActionResult Post(string body) { return View(); }

    // ok: CODE-CS-020
    [ValidateInput(true)]
    public ActionResult PostSafe(string body) { return View(); }
}
