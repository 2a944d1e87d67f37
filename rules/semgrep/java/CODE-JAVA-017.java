import javax.crypto.spec.SecretKeySpec;

public class Keys {
    // ruleid: CODE-JAVA-017
    SecretKeySpec key = new SecretKeySpec("not-a-real-key-planted-for-rule-test".getBytes(), "HmacSHA256");
    // ok: CODE-JAVA-017
    SecretKeySpec fromEnv = new SecretKeySpec(System.getenv("SIGNING_KEY").getBytes(), "HmacSHA256");
}
