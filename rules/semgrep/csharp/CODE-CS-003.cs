using System;
using Microsoft.AspNetCore.Mvc;


public class FilesController : Controller
{
    public IActionResult Download(string name)
    {
        // ruleid: CODE-CS-003
        var bytes = File.ReadAllBytes("/srv/reports/" + name);
        // ok: CODE-CS-003
        var safe = File.ReadAllBytes(Path.Combine("/srv/reports", Path.GetFileName(name)));
        var full = Path.GetFullPath(Path.Combine("/srv/reports", name));
        if (full.StartsWith("/srv/reports/"))
        {
            // ok: CODE-CS-003
            return PhysicalFile(full, "application/pdf");
        }
        // ruleid: CODE-CS-003
        return PhysicalFile(full, "application/pdf");
    }
}
