import javax.servlet.http.*;
import org.springframework.web.bind.annotation.*;


@RestController
public class UserController {
    @GetMapping("/users")
    public Object find(@RequestParam String name, HttpServletRequest request) throws Exception {
        Statement st = conn.createStatement();
        // ruleid: CODE-JAVA-001
        st.executeQuery("SELECT * FROM users WHERE name = '" + name + "'");
        String id = request.getParameter("id");
        // ruleid: CODE-JAVA-001
        jdbc.update("DELETE FROM orders WHERE id = " + id);
        // ok: CODE-JAVA-001
        jdbc.update("DELETE FROM orders WHERE id = ?", id);
        // ok: CODE-JAVA-001
        jdbc.update("DELETE FROM orders WHERE id = " + Integer.parseInt(id));
        return null;
    }
}
