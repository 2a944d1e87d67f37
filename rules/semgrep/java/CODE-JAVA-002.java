import javax.servlet.http.*;
import org.springframework.web.bind.annotation.*;


public class Tools {
    public void ping(HttpServletRequest request) throws Exception {
        String host = request.getParameter("host");
        // ruleid: CODE-JAVA-002
        Runtime.getRuntime().exec("ping -c 1 " + host);
        // ruleid: CODE-JAVA-002
        new ProcessBuilder("sh", "-c", "ping " + host).start();
        // ok: CODE-JAVA-002
        new ProcessBuilder("ping", "-c", "1", "localhost").start();
    }
}
