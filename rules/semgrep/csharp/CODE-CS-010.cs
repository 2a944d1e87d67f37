using System;
using Microsoft.AspNetCore.Mvc;


public class DirectoryController : Controller
{
    public IActionResult Lookup(string user)
    {
        var searcher = new DirectorySearcher(root);
        // ruleid: CODE-CS-010
        searcher.Filter = "(sAMAccountName=" + user + ")";
        // ok: CODE-CS-010
        searcher.Filter = "(sAMAccountName=" + LdapFilterEncode(user) + ")";
        return Ok();
    }
}
