import com.auth0.jwt.JWT;

public class Auth {
    String user(String token) {
        // ruleid: CODE-JAVA-016
        return JWT.decode(token).getSubject();
    }
    String verified(String token) {
        // ok: CODE-JAVA-016
        return JWT.require(algorithm).withIssuer(ISSUER).build().verify(token).getSubject();
    }
}
