import javax.xml.parsers.*;

public class Parser {
    public void parse() throws Exception {
        // ruleid: CODE-JAVA-008
        DocumentBuilderFactory unsafe = DocumentBuilderFactory.newInstance();
        unsafe.newDocumentBuilder();
        // ok: CODE-JAVA-008
        DocumentBuilderFactory safe = DocumentBuilderFactory.newInstance();
        safe.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    }
}
