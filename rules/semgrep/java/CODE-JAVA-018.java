import javax.servlet.http.*;
import org.springframework.web.bind.annotation.*;


public class Calc {
    public Object eval(@RequestParam String expr) throws Exception {
        ExpressionParser parser = new SpelExpressionParser();
        // ruleid: CODE-JAVA-018
        Object value = parser.parseExpression(expr).getValue();
        // ok: CODE-JAVA-018
        Object fixed = parser.parseExpression("1 + 2").getValue();
        return value;
    }
}
