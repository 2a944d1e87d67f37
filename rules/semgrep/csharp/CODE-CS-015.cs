using Microsoft.AspNetCore.Http;

public class Cookies
{
    public void Set(HttpResponse response, string id)
    {
        // ruleid: CODE-CS-015
        response.Cookies.Append("session", id, new CookieOptions { HttpOnly = true });
        // ruleid: CODE-CS-015
        response.Cookies.Append("session", id, new CookieOptions { Secure = true, HttpOnly = false });
        // ok: CODE-CS-015
        response.Cookies.Append("session", id, new CookieOptions { Secure = true, HttpOnly = true, SameSite = SameSiteMode.Strict });
    }
}
