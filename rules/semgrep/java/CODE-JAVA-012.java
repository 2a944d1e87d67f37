import javax.net.ssl.*;
import java.security.cert.X509Certificate;

public class TrustAll implements X509TrustManager {
    public void checkClientTrusted(X509Certificate[] chain, String authType) { check(chain); }
    // ruleid: CODE-JAVA-012
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}
    public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }

    void open(HttpsURLConnection connection) {
        // ruleid: CODE-JAVA-012
        connection.setHostnameVerifier((host, session) -> true);
        // ok: CODE-JAVA-012
        connection.setHostnameVerifier(HttpsURLConnection.getDefaultHostnameVerifier());
    }
}
