import javax.servlet.http.*;

public class Cookies {
    void set(HttpServletResponse response, String id) {
        Cookie plain = new Cookie("session", id);
        // ruleid: CODE-JAVA-014
        response.addCookie(plain);
        Cookie half = new Cookie("session", id);
        half.setSecure(true);
        // ruleid: CODE-JAVA-014
        response.addCookie(half);
        Cookie safe = new Cookie("session", id);
        safe.setSecure(true);
        safe.setHttpOnly(true);
        // ok: CODE-JAVA-014
        response.addCookie(safe);
    }
}
