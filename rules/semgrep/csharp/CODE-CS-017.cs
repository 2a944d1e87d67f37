using Microsoft.IdentityModel.Tokens;

public class Auth
{
    public TokenValidationParameters Parameters() => new TokenValidationParameters
    {
        ValidIssuer = "https://login.contoso.example",
        // ruleid: CODE-CS-017
        ValidateLifetime = false,
        // ruleid: CODE-CS-017
        RequireSignedTokens = false,
        // ok: CODE-CS-017
        ValidateIssuerSigningKey = true,
    };
}
