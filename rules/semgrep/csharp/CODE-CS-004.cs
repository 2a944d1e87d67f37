using System;
using Microsoft.AspNetCore.Mvc;


public class GreetController : Controller
{
    public IActionResult Hello(string name)
    {
        // ruleid: CODE-CS-004
        var html = new HtmlString("<b>" + name + "</b>");
        // ok: CODE-CS-004
        var encoded = new HtmlString("<b>" + HtmlEncoder.Default.Encode(name) + "</b>");
        // ruleid: CODE-CS-004
        return Content("<p>" + name + "</p>", "text/html");
    }
}
