using System;
using Microsoft.AspNetCore.Mvc;


public class AccountController : Controller
{
    public IActionResult Login(string returnUrl)
    {
        if (Url.IsLocalUrl(returnUrl))
        {
            // ok: CODE-CS-006
            return Redirect(returnUrl);
        }
        // ruleid: CODE-CS-006
        return Redirect(returnUrl);
    }
}
