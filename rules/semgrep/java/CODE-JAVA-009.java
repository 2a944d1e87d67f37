import javax.servlet.http.*;
import org.springframework.web.bind.annotation.*;


public class Directory {
    public void find(HttpServletRequest request) throws Exception {
        String user = request.getParameter("user");
        DirContext ctx = new InitialDirContext(env);
        // ruleid: CODE-JAVA-009
        ctx.search("ou=people", "(uid=" + user + ")", controls);
        // ok: CODE-JAVA-009
        ctx.search("ou=people", "(uid={0})", new Object[] { user }, controls);
    }
}
