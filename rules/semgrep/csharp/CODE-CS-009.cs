using System.Xml;

public class Parser
{
    public void Load(string xml)
    {
        var doc = new XmlDocument();
        // ruleid: CODE-CS-009
        doc.XmlResolver = new XmlUrlResolver();
        // ruleid: CODE-CS-009
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Parse };
        // ok: CODE-CS-009
        var safe = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        doc.LoadXml(xml);
    }
}
