import java.io.*;

public class Import {
    public Object read(InputStream in) throws Exception {
        // ruleid: CODE-JAVA-007
        ObjectInputStream ois = new ObjectInputStream(in);
        // ok: CODE-JAVA-007
        Order order = mapper.readValue(in, Order.class);
        return ois.readObject();
    }
}
