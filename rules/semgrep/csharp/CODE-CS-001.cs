using System;
using Microsoft.AspNetCore.Mvc;


public class UsersController : Controller
{
    public IActionResult Find(string name)
    {
        // ruleid: CODE-CS-001
        var cmd = new SqlCommand("SELECT * FROM Users WHERE Name = '" + name + "'", conn);
        // ok: CODE-CS-001
        var safe = new SqlCommand("SELECT * FROM Users WHERE Name = @name", conn);
        safe.Parameters.AddWithValue("@name", name);
        var id = Request.Query["id"];
        // ruleid: CODE-CS-001
        db.Database.ExecuteSqlRaw($"DELETE FROM Orders WHERE Id = {id}");
        // ok: CODE-CS-001
        db.Database.ExecuteSqlRaw("DELETE FROM Orders WHERE Id = {0}", id);
        // ok: CODE-CS-001
        cmd.CommandText = "SELECT 1 WHERE x = " + int.Parse(id);
        return Ok();
    }
}
