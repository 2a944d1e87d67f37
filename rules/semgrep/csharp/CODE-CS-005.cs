using System;
using Microsoft.AspNetCore.Mvc;


public class PreviewController : Controller
{
    public async Task<IActionResult> Fetch(string url)
    {
        // ruleid: CODE-CS-005
        var page = await http.GetStringAsync(url);
        if (AllowedHosts.Contains(url))
        {
            // ok: CODE-CS-005
            var allowed = await http.GetStringAsync(url);
        }
        // ok: CODE-CS-005
        var fixedUrl = await http.GetStringAsync("https://status.contoso.example/");
        return Ok(page);
    }
}
