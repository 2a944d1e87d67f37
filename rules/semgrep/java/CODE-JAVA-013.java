import java.util.Random;
import java.security.SecureRandom;

public class Tokens {
    String newResetToken() {
        // ruleid: CODE-JAVA-013
        return Long.toHexString(new Random().nextLong());
    }
    String newApiKey() {
        // ok: CODE-JAVA-013
        byte[] b = new byte[32]; new SecureRandom().nextBytes(b); return java.util.HexFormat.of().formatHex(b);
    }
    int jitter() {
        // ok: CODE-JAVA-013
        return new Random().nextInt(100);
    }
}
