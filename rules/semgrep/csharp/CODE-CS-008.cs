using System;
using Microsoft.AspNetCore.Mvc;


public class Settings
{
    // ruleid: CODE-CS-008
    JsonSerializerSettings unsafeSettings = new JsonSerializerSettings { TypeNameHandling = TypeNameHandling.All };
    // ruleid: CODE-CS-008
    JsonSerializerSettings autoSettings = new JsonSerializerSettings { TypeNameHandling = TypeNameHandling.Auto };
    // ok: CODE-CS-008
    JsonSerializerSettings safeSettings = new JsonSerializerSettings { TypeNameHandling = TypeNameHandling.None };
}
