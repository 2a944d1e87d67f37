using System;
using Microsoft.AspNetCore.Mvc;


public class TransferController : Controller
{
    // ruleid: CODE-CS-019
    [IgnoreAntiforgeryToken]
    [HttpPost]
    public IActionResult Send(Transfer t) { return Ok(); }

    // ok: CODE-CS-019
    [ValidateAntiForgeryToken]
    [HttpPost]
    public IActionResult SendSafe(Transfer t) { return Ok(); }
}
