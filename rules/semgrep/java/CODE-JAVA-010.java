import java.security.MessageDigest;

public class Hashing {
    public byte[] digest(byte[] data) throws Exception {
        // ruleid: CODE-JAVA-010
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        // ruleid: CODE-JAVA-010
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        // ok: CODE-JAVA-010
        return MessageDigest.getInstance("SHA-256").digest(data);
    }
}
