using System;
using System.Security.Cryptography;

public class Tokens
{
    public string NewResetToken()
    {
        // ruleid: CODE-CS-014
        var random = new Random();
        return random.Next().ToString();
    }

    public string NewApiKey()
    {
        // ok: CODE-CS-014
        return Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
    }

    public int ShuffleSeed()
    {
        // ok: CODE-CS-014
        return new Random().Next();
    }
}
