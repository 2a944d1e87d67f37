import javax.servlet.http.*;
import org.springframework.web.bind.annotation.*;


public class Login {
    public void done(HttpServletRequest request, HttpServletResponse response) throws Exception {
        String next = request.getParameter("next");
        // ruleid: CODE-JAVA-006
        response.sendRedirect(next);
        // ok: CODE-JAVA-006
        response.sendRedirect("/home");
    }
}
