using System;
using Microsoft.AspNetCore.Mvc;


public class Import
{
    public object Read(Stream s)
    {
        // ruleid: CODE-CS-007
        var formatter = new BinaryFormatter();
        // ok: CODE-CS-007
        var order = JsonSerializer.Deserialize<Order>(s);
        return formatter.Deserialize(s);
    }
}
