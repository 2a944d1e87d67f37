import javax.servlet.http.*;
import org.springframework.web.bind.annotation.*;


public class Preview {
    public String fetch(@RequestParam String url) throws Exception {
        // ruleid: CODE-JAVA-005
        String page = rest.getForObject(url, String.class);
        if (ALLOWED.contains(url)) {
            // ok: CODE-JAVA-005
            return rest.getForObject(url, String.class);
        }
        return page;
    }
}
