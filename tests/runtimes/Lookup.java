// InetAddress.getAllByName per name: prints "NAME ADDR..."; with LOOKUP_HOLD set,
// then waits until stdin closes.
import java.net.InetAddress;

public class Lookup {
    public static void main(String[] args) throws java.io.IOException {
        for (String n : args) {
            StringBuilder sb = new StringBuilder(n);
            try {
                for (InetAddress a : InetAddress.getAllByName(n)) {
                    sb.append(' ').append(a.getHostAddress());
                }
            } catch (Exception e) {
                sb.append(" !ERR ").append(e.getClass().getSimpleName());
            }
            System.out.println(sb);
        }
        System.out.flush();
        if (System.getenv("LOOKUP_HOLD") != null) {
            while (System.in.read() >= 0) { }
        }
    }
}
