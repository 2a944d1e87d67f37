import javax.servlet.http.*;
import org.springframework.web.bind.annotation.*;


public class Files {
    public byte[] read(@RequestParam("name") String name) throws Exception {
        // ruleid: CODE-JAVA-003
        FileInputStream in = new FileInputStream("/srv/reports/" + name);
        // ok: CODE-JAVA-003
        File safe = new File("/srv/reports", FilenameUtils.getName(name));
        return null;
    }
}
