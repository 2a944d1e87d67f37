using System.Security.Cryptography;

public class Hashing
{
    public byte[] Digest(byte[] data)
    {
        // ruleid: CODE-CS-011
        using var md5 = MD5.Create();
        // ruleid: CODE-CS-011
        var sha1 = SHA1.HashData(data);
        // ok: CODE-CS-011
        return SHA256.HashData(data);
    }
}
