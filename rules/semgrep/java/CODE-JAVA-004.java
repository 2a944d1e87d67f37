import javax.servlet.http.*;
import org.springframework.web.bind.annotation.*;


public class Hello extends HttpServlet {
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws java.io.IOException {
        String name = request.getParameter("name");
        // ruleid: CODE-JAVA-004
        response.getWriter().write("<p>Hello " + name + "</p>");
        // ok: CODE-JAVA-004
        response.getWriter().write("<p>Hello " + Encode.forHtml(name) + "</p>");
    }
}
