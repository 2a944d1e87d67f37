using System.Security.Cryptography;

public class Crypto
{
    public void Encrypt()
    {
        // ruleid: CODE-CS-012
        var des = DES.Create();
        var aes = Aes.Create();
        // ruleid: CODE-CS-012
        aes.Mode = CipherMode.ECB;
        // ok: CODE-CS-012
        aes.Mode = CipherMode.CBC;
    }
}
