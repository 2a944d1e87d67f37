using System.Text;
using Microsoft.IdentityModel.Tokens;

public class Keys
{
    // ruleid: CODE-CS-018
    SymmetricSecurityKey key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes("not-a-real-key-planted-for-rule-test"));
    // ok: CODE-CS-018
    SymmetricSecurityKey fromConfig = new SymmetricSecurityKey(Convert.FromBase64String(config["Jwt:Key"]));
}
