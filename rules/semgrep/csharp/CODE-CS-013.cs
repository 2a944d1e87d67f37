using System.Net;
using System.Net.Http;

public class Client
{
    public HttpClient Make()
    {
        // ruleid: CODE-CS-013
        ServicePointManager.ServerCertificateValidationCallback += (sender, cert, chain, errors) => true;
        var handler = new HttpClientHandler();
        // ruleid: CODE-CS-013
        handler.ServerCertificateCustomValidationCallback = (m, c, ch, e) => true;
        // ok: CODE-CS-013
        handler.ServerCertificateCustomValidationCallback = (m, c, ch, e) => e == SslPolicyErrors.None;
        return new HttpClient(handler);
    }
}
