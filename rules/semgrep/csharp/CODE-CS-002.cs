using System;
using Microsoft.AspNetCore.Mvc;


public class ToolsController : Controller
{
    public IActionResult Ping(string host)
    {
        // ruleid: CODE-CS-002
        Process.Start("cmd.exe", "/c ping " + host);
        var psi = new ProcessStartInfo("ping");
        // ruleid: CODE-CS-002
        psi.Arguments = host;
        // ok: CODE-CS-002
        Process.Start("ping", "-n 1 localhost");
        return Ok();
    }
}
