import javax.crypto.Cipher;

public class Crypto {
    public void run() throws Exception {
        // ruleid: CODE-JAVA-011
        Cipher des = Cipher.getInstance("DES/CBC/PKCS5Padding");
        // ruleid: CODE-JAVA-011
        Cipher ecb = Cipher.getInstance("AES");
        // ok: CODE-JAVA-011
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
    }
}
